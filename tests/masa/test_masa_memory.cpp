// The budget checked from outside the library: a run in a child process under RLIMIT_DATA (its
// data segment may grow by the budget plus a fixed allowance and no more) must complete every
// request, while the same limit with no accounting budget makes it fail: so the limit bites, and
// the accounting is what keeps the runtime under it. Peak RSS (VmHWM) is checked the same way.
#include <doctest/doctest.h>

#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <stemshare/masa/process_memory.hpp>
#include <stemshare/masa/runtime.hpp>

#include "masa/masa_test_models.hpp"
#include "support/skip.hpp"

using namespace stemshare;

namespace {

/// Thread stacks of the workers, oneDNN's JIT code and primitive cache, stdio buffers: memory a
/// run allocates that the budget does not model. Fixed, independent of the networks.
constexpr std::uint64_t allowance = 48ULL << 20;

/// Exit codes of the child.
constexpr int all_ok = 0;
constexpr int some_failed = 3;
constexpr int rss_over = 4;

/// Runs `requests` in a child whose data segment may grow by `limit_over_now` bytes; returns its
/// exit code (128 + signal when killed, -1 on timeout).
int run_in_child(const std::vector<masa::network>& nets, std::uint64_t budget, std::uint64_t limit_over_now,
                 int repeats) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        std::vector<masa::request> requests;
        for (int k = 0; k < repeats; ++k)
            for (std::size_t i = 0; i < nets.size(); ++i)
                requests.push_back({i, 0.0, test::input_for(nets[i], 50 + i)});
        const rlimit lim{masa::process_memory::data() + limit_over_now, RLIM_INFINITY};
        if (::setrlimit(RLIMIT_DATA, &lim) != 0) ::_exit(2);
        const std::uint64_t baseline = masa::process_memory::rss();
        masa::process_memory::reset_peak_rss();
        int code = all_ok;
        try {
            masa::runtime rt(test::pointers(nets), {.run_mode = masa::mode::masa, .budget_bytes = budget});
            const auto report = rt.run(std::move(requests));
            for (const auto& r : report.results)
                if (!r.ok()) code = some_failed;
            if (code == all_ok && masa::process_memory::peak_rss() > baseline + budget + allowance)
                code = rss_over;
        } catch (...) {
            code = some_failed;
        }
        ::_exit(code);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE(
    "masa memory: under RLIMIT_DATA = budget + allowance every request completes, unbudgeted it fails") {
    STEMSHARE_SKIP_IF(masa::process_memory::data() == 0, "/proc/self/status has no VmData here");
    test::scratch_dir dir("rlimit");
    // Weights big enough to dwarf the allowance: two networks of about 70 MB each.
    using namespace stemshare::layers;
    constexpr auto wide = input<16, 32, 32> |
                          block(conv2d<{.out_channels = 32, .kernel = 3, .padding = 1}> | relu) |
                          block(dense<{.out_features = 512}> | relu) |
                          block(dense<{.out_features = 512}> | relu) | dense<{.out_features = 10}>;
    std::vector<masa::network> nets;
    nets.push_back(test::prepare("wide_a", wide.to_graph(), 1, dir));
    nets.push_back(test::prepare("wide_b", wide.to_graph(), 2, dir));
    const std::uint64_t need = masa::requirement_of(nets[0], masa::mode::masa).bytes;
    const std::uint64_t budget = need + need / 4;  // one network at a time, a little room to load ahead
    REQUIRE(2 * need > budget + allowance);        // two loads of the wide layer at once cannot fit
    CHECK(run_in_child(nets, budget, budget + allowance, 2) == all_ok);
    // The same OS limit with no accounting budget: both networks load ahead at once and cross it.
    CHECK(run_in_child(nets, masa::memory_budget::unlimited, budget + allowance, 2) == some_failed);
}
