#pragma once
/// \file
/// `masa::mode` and `masa::scheduler_kind`: how a Masa run turns requests into tasks (docs/masa.md)
/// and which ready task a free worker takes.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <stemshare/core/error.hpp>

namespace stemshare::masa {

/// EdgeCaffe's execution modes.
enum class mode : std::uint8_t {
    bulk,            ///< INIT, load every segment, run them; one network at a time
    linear,          ///< INIT, L0, E0, L1, E1, ...; one network at a time
    partial,         ///< loads run ahead of executions on the other worker; one network at a time
    masa,            ///< partial + Masa's scheduler; networks overlap, admitted by memory
    deepeye,         ///< worker 0: INIT, conv loads, executions; worker 1: fully-connected loads
    deepeye_frugal,  ///< deepeye, and FC loads wait for the previous network's FC executions
    masa_stem,       ///< masa, and segments shared by several networks (one stem) stay resident
};

/// Which ready task a free worker takes.
enum class scheduler_kind : std::uint8_t {
    fcfs,  ///< the earliest request's
    sjf,   ///< the request of the shortest profiled job
    masa,  ///< executions first (shortest network), then INIT/LOAD by (mean exec time, type, id)
};

inline constexpr std::array<mode, 7> all_modes = {mode::bulk,     mode::linear,  mode::partial,
                                                  mode::masa,     mode::deepeye, mode::deepeye_frugal,
                                                  mode::masa_stem};

[[nodiscard]] constexpr std::string_view to_string(mode m) {
    constexpr std::array<std::string_view, 7> names = {"bulk",    "linear",         "partial",  "masa",
                                                       "deepeye", "deepeye-frugal", "masa-stem"};
    return names[static_cast<std::size_t>(m)];
}
[[nodiscard]] constexpr std::string_view to_string(scheduler_kind s) {
    constexpr std::array<std::string_view, 3> names = {"fcfs", "sjf", "masa"};
    return names[static_cast<std::size_t>(s)];
}

[[nodiscard]] inline mode parse_mode(std::string_view text) {
    for (mode m : all_modes)
        if (to_string(m) == text) return m;
    throw error("masa mode", "unknown mode '" + std::string(text) +
                                 "'; known: bulk, linear, partial, masa, deepeye, deepeye-frugal, masa-stem");
}
[[nodiscard]] inline scheduler_kind parse_scheduler(std::string_view text) {
    for (auto s : {scheduler_kind::fcfs, scheduler_kind::sjf, scheduler_kind::masa})
        if (to_string(s) == text) return s;
    throw error("masa scheduler", "unknown scheduler '" + std::string(text) + "'; known: fcfs, sjf, masa");
}

/// True for the modes that always run Masa's scheduler.
[[nodiscard]] constexpr bool masa_scheduled(mode m) {
    return m == mode::masa || m == mode::masa_stem;
}

/// True for the modes that admit one network at a time.
[[nodiscard]] constexpr bool one_network_at_a_time(mode m) {
    return m == mode::bulk || m == mode::linear || m == mode::partial;
}

}  // namespace stemshare::masa
