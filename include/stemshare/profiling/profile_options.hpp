#pragma once
/// \file
/// `profile_options`: what one latency table is measured under (threads, precision, batch) and how
/// (timed runs, untimed warm-up runs, input seed).

#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>

#include <stemshare/core/dtype.hpp>
#include <stemshare/core/error.hpp>

namespace stemshare::profiling {

struct profile_options {
    /// Threads of every primitive (must be positive: a table is for one known thread count).
    int threads = 1;
    dtype precision = dtype::f32;
    std::int64_t batch = 1;
    /// Timed runs of each kind (whole-model and per-layer): Google Benchmark repetitions of one
    /// iteration each.
    std::size_t runs = 30;
    /// Untimed runs first (JIT, page faults, caches).
    std::size_t warmup = 5;
    /// Seed of the random input.
    std::uint64_t seed = 1;
    /// Sparse mode: microseconds the profiler sleeps before every timed run (0: back to back).
    /// A live stream runs a frame every so often and the core idles (or runs other work) in
    /// between, which evicts the model from the caches; a table measured with the stream's frame
    /// interval as the gap charges what the runtime then pays (runtime/frame_wait.hpp).
    std::int64_t gap_us = 0;
    /// Also times a second copy of the model (compiled from a copy of the graph, so its weights
    /// live elsewhere) right after the first in every per-layer run: what one more app's copy of a
    /// layer costs in a frame that has just run it, with the code and the activations' shapes warm
    /// and the weights not (`layer_latency::second_copy`). A frame of many apps pays the first
    /// copy's time once per layer and this for each further copy.
    bool second_copy = false;

    /// Throws `stemshare::error` naming `model` for zero or negative threads, zero runs or more
    /// runs than Google Benchmark counts repetitions in (an int).
    void validate(const std::string& model) const {
        if (threads <= 0)
            throw error("profiling: model '" + model + "'",
                        "threads must be a positive number, got " + std::to_string(threads));
        if (runs == 0) throw error("profiling: model '" + model + "'", "runs must be at least 1");
        if (gap_us < 0 || gap_us > 60'000'000)
            throw error("profiling: model '" + model + "'",
                        "gap_us must be in [0, 60 s], got " + std::to_string(gap_us));
        if (runs > static_cast<std::size_t>(INT_MAX))
            throw error("profiling: model '" + model + "'",
                        "runs must be at most " + std::to_string(INT_MAX) + ", got " + std::to_string(runs));
    }
};

}  // namespace stemshare::profiling
