#pragma once
/// \file
/// `frame_wait`: how the stream thread waits for the next frame's arrival. A sparse live stream
/// (a few frames per second) leaves the core idle between frames; what the frame then costs
/// depends on how the thread waited (benchmarks/runtime/bench_sparse_frames.cpp measures each
/// way against back-to-back frames, the regime latency tables are measured in):
///
/// - `sleep`: sleep until the arrival (the core idles, other processes run on it and evict the
///   plan's weights and buffers from the caches, the core may clock down);
/// - `spin`: busy-wait the whole gap (the core never idles; costs a core);
/// - `sleep_spin`: sleep, then busy-wait the last `lead` before the arrival;
/// - `sleep_warm`: sleep, then `executor::warm` (one untimed rehearsal of the plan) `lead` before
///   the arrival, and busy-wait the rest.

#include <chrono>
#include <cstdint>
#include <string_view>
#include <thread>

#include <stemshare/core/error.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/tensor/tensor_view.hpp>

namespace stemshare::runtime {

struct frame_wait {
    enum class kind : std::uint8_t { sleep, spin, sleep_spin, sleep_warm };
    using clock = std::chrono::steady_clock;

    kind rule = kind::sleep;
    /// How long before the arrival `sleep_spin` starts spinning and `sleep_warm` warms.
    clock::duration lead = std::chrono::milliseconds(2);

    /// Waits until `deadline` by the rule; `sleep_warm` warms `box` with `frame`.
    void wait_until(clock::time_point deadline, executor& box, tensor_view<const float> frame) const {
        switch (rule) {
            case kind::sleep:
                std::this_thread::sleep_until(deadline);
                return;
            case kind::spin:
                spin_until(deadline);
                return;
            case kind::sleep_spin:
                std::this_thread::sleep_until(deadline - lead);
                spin_until(deadline);
                return;
            case kind::sleep_warm:
                std::this_thread::sleep_until(deadline - lead);
                box.warm(frame);
                spin_until(deadline);
                return;
        }
    }

private:
    static void spin_until(clock::time_point deadline) noexcept {
        while (clock::now() < deadline) {
        }
    }
};

/// Name used by flags and reports: "sleep", "spin", "sleep-spin", "sleep-warm".
[[nodiscard]] constexpr std::string_view to_string(frame_wait::kind k) noexcept {
    switch (k) {
        case frame_wait::kind::sleep:
            return "sleep";
        case frame_wait::kind::spin:
            return "spin";
        case frame_wait::kind::sleep_spin:
            return "sleep-spin";
        case frame_wait::kind::sleep_warm:
            return "sleep-warm";
    }
    return "?";
}

/// The wait named `name` (as `to_string` writes it); throws `stemshare::error` naming `who`.
[[nodiscard]] inline frame_wait::kind parse_frame_wait(std::string_view name, std::string_view who) {
    for (auto k : {frame_wait::kind::sleep, frame_wait::kind::spin, frame_wait::kind::sleep_spin,
                   frame_wait::kind::sleep_warm})
        if (name == to_string(k)) return k;
    throw error(std::string(who), "unknown frame wait '" + std::string(name) +
                                      "' (sleep, spin, sleep-spin, sleep-warm)");
}

}  // namespace stemshare::runtime
