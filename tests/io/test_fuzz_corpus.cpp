// The fuzzers' committed seed corpora (tests/fuzz/corpus/, written by tests/fuzz/make_seeds.cpp)
// replayed in the normal build: every file loads or throws stemshare::error naming it, and the
// seeds made to be valid load while those made to be broken are refused. Inputs that once made a
// fuzzer fail are added to the corpora, so this suite replays them too (docs/reliability.md).

#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <string>

#include <stemshare/io/apps_file.hpp>
#include <stemshare/io/idx.hpp>
#include <stemshare/io/npy.hpp>
#include <stemshare/io/safetensors.hpp>
#include <stemshare/profiling/latency_table.hpp>
#ifdef STEMSHARE_WITH_ONNX
#include <stemshare/io/onnx_import.hpp>
#endif

namespace fs = std::filesystem;
using namespace stemshare;

namespace {

const fs::path corpus_root = STEMSHARE_FUZZ_CORPUS_DIR;

/// Runs `load` on every file of corpus `harness`. Returns how many loaded; checks that every other
/// file was refused with a stemshare::error naming it, and that files whose name starts with
/// "valid" loaded.
std::size_t replay(const std::string& harness, const std::function<void(const fs::path&)>& load) {
    std::size_t loaded = 0;
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(corpus_root / harness)) {
        const fs::path& p = entry.path();
        CAPTURE(p.string());
        ++files;
        bool ok = false;
        std::string message;
        try {
            load(p);
            ok = true;
        } catch (const stemshare::error& e) {
            message = e.what();
        }
        if (ok) {
            ++loaded;
        } else {
            CHECK(message.find(p.filename().string()) != std::string::npos);
        }
        if (p.filename().string().rfind("valid", 0) == 0) CHECK_MESSAGE(ok, message);
    }
    CHECK(files > 0);
    return loaded;
}

}  // namespace

TEST_CASE("fuzz corpus: every .npy, IDX and safetensors seed loads or is refused naming the file") {
    CHECK(replay("npy", [](const fs::path& p) { (void)io::load_npy(p); }) >= 2);
    CHECK(replay("idx", [](const fs::path& p) { (void)io::read_idx(p); }) >= 3);
    CHECK(replay("safetensors", [](const fs::path& p) {
              const io::safetensors_file f(p);
              for (const auto& e : f.entries())
                  if (io::is_loadable_float(e.dtype)) (void)f.load(e.name);
          }) >= 3);
}

TEST_CASE("fuzz corpus: every apps-file and latency-table seed loads or is refused naming the file") {
    CHECK(replay("apps_json", [](const fs::path& p) { (void)io::load_apps_file(p); }) >= 2);
    CHECK(replay("latency_table", [](const fs::path& p) { (void)profiling::read_layer_latencies(p.string()); }) >=
          4);
}

#ifdef STEMSHARE_WITH_ONNX
TEST_CASE("fuzz corpus: every ONNX seed imports or is refused naming the file") {
    CHECK(replay("onnx", [](const fs::path& p) { (void)io::load_onnx(p); }) >= 1);
}
#endif
