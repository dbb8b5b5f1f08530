// Faults injected into the io layer (docs/reliability.md): weight files changed under a reader,
// writes that fail part way (RLIMIT_FSIZE in a forked child: nothing is mounted, no system setting
// changes), and the bounds every size a file claims is checked against.

#include <doctest/doctest.h>

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stemshare/io/apps_file.hpp>
#include <stemshare/io/atomic_file.hpp>
#include <stemshare/io/idx.hpp>
#include <stemshare/io/json_file.hpp>
#include <stemshare/io/mpackage.hpp>
#include <stemshare/io/safetensors.hpp>
#include <stemshare/profiling/latency_table.hpp>

#include "io_test_support.hpp"

using io_test::error_of;
using io_test::read_bytes;
using io_test::scratch_dir;
using io_test::write_bytes;
using namespace stemshare;

namespace {

tensor<float> ramp(std::int64_t n, float scale) {
    tensor<float> t(dims{n});
    for (std::int64_t i = 0; i < n; ++i) t[i] = scale * static_cast<float>(i);
    return t;
}

void write_one(const std::filesystem::path& p, const tensor<float>& t) {
    const std::vector<io::named_view> v{{"w", t.view()}};
    io::write_safetensors(p, v);
}

/// Runs `body` in a forked child whose files may grow to at most `limit` bytes (SIGXFSZ ignored,
/// so a write past it fails with EFBIG instead of killing the child). Returns the child's exit
/// status: `body`'s return value, or 100 + a signal number when it died.
template <class F>
int in_child_with_file_size_limit(rlim_t limit, F&& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        std::signal(SIGXFSZ, SIG_IGN);
        const rlimit rl{limit, limit};
        if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) ::_exit(90);
        int code = 91;
        try {
            code = body();
        } catch (...) {
            code = 92;
        }
        ::_exit(code);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/// No temporary file of an atomic write is left in `dir`.
bool no_temporaries(const std::filesystem::path& dir) {
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().filename().string().find(".tmp") != std::string::npos) return false;
    return true;
}

}  // namespace

TEST_CASE("faults: a weight file truncated while open is a named error, not SIGBUS") {
    const scratch_dir dir;
    const auto path = dir / "w.safetensors";
    write_one(path, ramp(4096, 0.5F));
    const io::safetensors_file file(path);
    std::filesystem::resize_file(path, 100);  // another program cuts it short
    const std::string message = error_of([&] { (void)file.load("w"); });
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find("shrank") != std::string::npos);
    // The same through an M-Package reader's digest check is covered by the fuzzer; here the
    // process is alive and the next, healthy file loads.
    write_one(path, ramp(8, 1.0F));
    CHECK(io::safetensors_file(path).load("w")[7] == 7.0F);
}

TEST_CASE("faults: a weight file replaced or deleted while open still loads its old bytes whole") {
    const scratch_dir dir;
    const auto path = dir / "w.safetensors";
    write_one(path, ramp(1024, 2.0F));
    const io::safetensors_file replaced(path);
    write_one(path, ramp(16, -1.0F));  // atomic writer: a new file renamed over the old one
    const tensor<float> old = replaced.load("w");
    REQUIRE(old.numel() == 1024);
    CHECK(old[1023] == 2046.0F);

    const io::safetensors_file deleted(path);
    std::filesystem::remove(path);
    const tensor<float> still = deleted.load("w");
    REQUIRE(still.numel() == 16);
    CHECK(still[15] == -15.0F);
}

TEST_CASE("faults: a write that fails part way leaves the old weight file intact with a named error") {
    const scratch_dir dir;
    const auto path = dir / "w.safetensors";
    write_one(path, ramp(16, 3.0F));
    const std::string before = read_bytes(path);
    const int code = in_child_with_file_size_limit(4096, [&] {
        const tensor<float> big = ramp(100000, 1.0F);  // 400 kB, far past the 4 kB limit
        const std::string message = error_of([&] { write_one(path, big); });
        return message.find(path.string()) != std::string::npos &&
                       message.find("write failed") != std::string::npos &&
                       message.find("unchanged") != std::string::npos
                   ? 0
                   : 1;
    });
    CHECK(code == 0);
    CHECK(read_bytes(path) == before);
    CHECK(no_temporaries(dir.path()));
    CHECK(io::safetensors_file(path).load("w")[15] == 45.0F);
}

TEST_CASE("faults: a failed write of a plan, table or results file keeps the old file") {
    const scratch_dir dir;
    const auto path = dir / "results.json";
    io::write_file_atomically(path, "{\"old\": true}\n");
    const int code = in_child_with_file_size_limit(1024, [&] {
        const std::string big(8192, 'x');
        const std::string message = error_of([&] { io::write_file_atomically(path, big); });
        return message.find(path.string()) != std::string::npos ? 0 : 1;
    });
    CHECK(code == 0);
    CHECK(read_bytes(path) == "{\"old\": true}\n");
    CHECK(no_temporaries(dir.path()));
    // A folder that does not exist is a named error too, and nothing is created.
    CHECK(error_of([&] { io::write_file_atomically(dir / "missing/x.json", "{}"); }).find("missing/x.json") !=
          std::string::npos);
}

TEST_CASE("faults: an M-Package rewritten past a file-size limit still reads as the old package") {
    const scratch_dir dir;
    const auto folder = dir / "pkg";
    graph small = io_test::net28.to_graph();
    small.bind_random(1);
    const std::vector<io::mpackage_candidate_model> none;
    const io::mpackage_manifest old = io::write_mpackage(folder, "app", "net28", "net28", small, none);
    const std::string manifest_before = read_bytes(folder / "manifest.json");
    const int code = in_child_with_file_size_limit(4096, [&] {
        graph other = io_test::net28.to_graph();
        other.bind_random(2);
        const std::string message =
            error_of([&] { (void)io::write_mpackage(folder, "app", "net28", "net28", other, none); });
        return message.find("base.safetensors") != std::string::npos ? 0 : 1;
    });
    CHECK(code == 0);
    CHECK(read_bytes(folder / "manifest.json") == manifest_before);
    CHECK(no_temporaries(folder));
    CHECK(io::mpackage::read(folder).manifest() == old);  // digest still matches the old base
}

TEST_CASE("limits: JSON deeper than max_json_depth or larger than max_json_bytes is refused naming it") {
    const scratch_dir dir;
    const auto deep = dir / "deep.json";
    write_bytes(deep, std::string(io::max_json_depth + 1, '[') + std::string(io::max_json_depth + 1, ']'));
    CHECK(error_of([&] { (void)io::load_apps_file(deep); }).find("deeper than 64") != std::string::npos);
    CHECK(error_of([&] { (void)profiling::read_layer_latencies(deep.string()); }).find(deep.string()) !=
          std::string::npos);
    // Exactly at the limit parses (and is then refused for its content, not its depth).
    write_bytes(deep, std::string(io::max_json_depth, '[') + std::string(io::max_json_depth, ']'));
    CHECK(error_of([&] { (void)io::load_apps_file(deep); }).find("deeper") == std::string::npos);

    const auto big = dir / "big.json";
    { std::ofstream(big) << "[0]"; }
    std::filesystem::resize_file(big, io::max_json_bytes + 1);  // sparse: no disk used
    CHECK(error_of([&] { (void)io::load_apps_file(big); }).find("limit for JSON documents") != std::string::npos);
}

TEST_CASE("limits: a gzipped IDX file that inflates past the stated bound is refused while reading") {
    const scratch_dir dir;
    const auto path = dir / "bomb.idx.gz";
    // A header claiming {1000000} bytes and the bytes themselves: 1 MB of zeros gzips to ~1 kB.
    std::string plain{'\0', '\0', '\x08', '\x01', '\x00', '\x0f', '\x42', '\x40'};
    plain.append(1000000, '\0');
    gzFile f = gzopen(path.c_str(), "wb9");
    REQUIRE(f != nullptr);
    gzwrite(f, plain.data(), static_cast<unsigned>(plain.size()));
    gzclose(f);
    CHECK(std::filesystem::file_size(path) < 10000);
    CHECK(io::read_idx(path).count() == 1000000);  // within the default bound: loads
    const std::string message = error_of([&] { (void)io::read_idx(path, 65536); });
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find("inflates to more than 65536 bytes") != std::string::npos);
}
