#pragma once
/// \file
/// What a `masa::runtime` run takes and gives: requests, options, each request's result, the
/// trace of every task, and the run's report (peaks, bytes read, resident hits).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <stemshare/masa/layer_store.hpp>
#include <stemshare/masa/memory_budget.hpp>
#include <stemshare/masa/mode.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::masa {

/// One inference request: which network, when it arrives, and its input {1, c, h, w}.
struct request {
    std::size_t network = 0;
    double arrival_s = 0;
    tensor<float> input;
};

enum class task_kind : std::uint8_t { init, load, exec };

[[nodiscard]] constexpr std::string_view to_string(task_kind k) {
    return k == task_kind::init ? "INIT" : k == task_kind::load ? "LOAD" : "EXEC";
}

/// One task as it ran.
struct task_record {
    std::size_t request = 0;
    task_kind kind = task_kind::init;
    std::size_t segment = 0;
    int worker = 0;
    double start_s = 0;
    double end_s = 0;
    /// A LOAD that found the segment resident (masa-stem): nothing was read or compiled.
    bool resident = false;
};

struct request_result {
    std::size_t request = 0;
    std::size_t network = 0;
    double arrival_s = 0;
    double start_s = 0;
    double finish_s = 0;
    /// Refused before anything ran (it can never fit the budget).
    bool refused = false;
    /// Empty when the request completed.
    std::string error;
    tensor<float> output;

    [[nodiscard]] bool ok() const noexcept { return error.empty(); }
    [[nodiscard]] double response_s() const noexcept { return finish_s - arrival_s; }
};

struct run_options {
    mode run_mode = mode::masa;
    /// Ignored in mode masa, which always runs Masa's scheduler.
    scheduler_kind scheduler = scheduler_kind::fcfs;
    std::uint64_t budget_bytes = memory_budget::unlimited;
    int workers = 2;
    read_options reads{};
};

struct run_report {
    std::vector<request_result> results;
    /// Every task, in the order they started.
    std::vector<task_record> trace;
    std::uint64_t budget_bytes = 0;
    /// Most bytes the requests held at once (allocated or being allocated).
    std::uint64_t peak_held_bytes = 0;
    /// Most bytes the budget had given out at once (held plus unused reservations).
    std::uint64_t peak_reserved_bytes = 0;
    std::uint64_t bytes_read = 0;
    double wall_s = 0;
    /// masa-stem: LOADs served by a resident shared segment, resident copies evicted, and the most
    /// bytes resident copies held at once (included in the peaks above).
    std::size_t resident_hits = 0;
    std::size_t evictions = 0;
    std::uint64_t peak_resident_bytes = 0;
};

/// Seconds during which a LOAD and an EXEC ran at once in `trace`: how much loading the run hid
/// behind execution (what partial, masa and the deepeyes exist for).
[[nodiscard]] inline double load_exec_overlap_s(const std::vector<task_record>& trace) {
    struct edge {
        double t;
        int load;
        int exec;
    };
    std::vector<edge> edges;
    for (const auto& r : trace) {
        if (r.kind == task_kind::init) continue;
        const int l = r.kind == task_kind::load ? 1 : 0;
        edges.push_back({r.start_s, l, 1 - l});
        edges.push_back({r.end_s, -l, l - 1});
    }
    std::sort(edges.begin(), edges.end(), [](const edge& a, const edge& b) { return a.t < b.t; });
    double overlap = 0;
    int loads = 0;
    int execs = 0;
    for (std::size_t i = 0; i < edges.size(); ++i) {
        if (i > 0 && loads > 0 && execs > 0) overlap += edges[i].t - edges[i - 1].t;
        loads += edges[i].load;
        execs += edges[i].exec;
    }
    return overlap;
}

}  // namespace stemshare::masa
