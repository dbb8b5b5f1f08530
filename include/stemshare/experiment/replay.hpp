#pragma once
/// \file
/// `experiment::replay`: faster-than-real-time accounting of a plan on a stream. Instead of
/// running models in real time, it charges each frame the measured latencies of the layers the
/// plan runs for it and keeps a virtual clock, so many (plan, budget, fps) configurations can be
/// swept in milliseconds; the per-frame predictions come from one offline pass per candidate.
///
/// The rules, the same as the real-time runner's:
/// - Frame j arrives at j / F. App a (frame rate f_a) wants frame j when j = 0 or
///   floor(j f_a / F) > floor((j - 1) f_a / F), rates in thousandths of a frame per second
///   (so f_a = F takes every frame, f_a = F / 3 every third).
/// - One box processes one frame at a time. A frame that arrives while the box is still busy is
///   dropped for every app that wanted it (never queued), as Mainstream's M-Runner does.
/// - Work for a frame, from the cost model of DESIGN.md section 5 applied to the apps that want
///   it: layer l runs once for all wanting apps that share it (num_frozen > l) and once more for
///   each wanting app with num_frozen <= l (its own copy).

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>

namespace stemshare::experiment {

/// One app of a plan: its branch point and frame rate.
struct replay_app {
    std::size_t num_frozen = 0;
    double fps = 0.0;
};

struct replay_result {
    /// processed[a][j]: app a's model ran on frame j.
    std::vector<std::vector<bool>> processed;
    /// Frames each app processed per second of stream.
    std::vector<double> achieved_fps;
    /// Frames some app wanted that arrived while the box was busy.
    std::int64_t dropped_frames = 0;
    /// Frames the box processed.
    std::int64_t processed_frames = 0;
    double busy_seconds = 0.0;
    double duration_seconds = 0.0;
    /// The plan's cost (compute-seconds per second of stream) by the section 5 formula, and the
    /// busy time per second of stream actually spent.
    double planned_cost = 0.0;
    double measured_load = 0.0;
};

/// True when a step at `child_mfps` takes frame j of a parent at `parent_mfps` (millifps).
[[nodiscard]] constexpr bool takes_frame(std::uint64_t j, std::uint64_t child_mfps, std::uint64_t parent_mfps) noexcept {
    return j == 0 || (j * child_mfps) / parent_mfps != ((j - 1) * child_mfps) / parent_mfps;
}

/// Seconds to process one frame for the apps marked in `wanting`.
[[nodiscard]] inline double frame_seconds(std::span<const replay_app> apps, const std::vector<bool>& wanting,
                                          std::span<const double> layer_seconds) {
    double total = 0.0;
    for (std::size_t l = 0; l < layer_seconds.size(); ++l) {
        bool shared = false;
        std::size_t own = 0;
        for (std::size_t a = 0; a < apps.size(); ++a) {
            if (!wanting[a]) continue;
            if (apps[a].num_frozen > l)
                shared = true;
            else
                ++own;
        }
        total += layer_seconds[l] * (static_cast<double>(own) + (shared ? 1.0 : 0.0));
    }
    return total;
}

/// The plan's cost per second of stream: sum over layers of latency x (sum of own-copy rates +
/// max of sharing rates), DESIGN.md section 5.
[[nodiscard]] inline double plan_cost(std::span<const replay_app> apps, std::span<const double> layer_seconds) {
    double cost = 0.0;
    for (std::size_t l = 0; l < layer_seconds.size(); ++l) {
        double own = 0.0;
        double shared = 0.0;
        for (const auto& a : apps) {
            if (a.num_frozen > l)
                shared = std::max(shared, a.fps);
            else
                own += a.fps;
        }
        cost += layer_seconds[l] * (own + shared);
    }
    return cost;
}

/// Replays `frames` frames of a stream at `stream_fps` under the plan `apps`, with
/// `layer_seconds[l]` the measured latency of layer l for one frame.
[[nodiscard]] inline replay_result replay(std::span<const replay_app> apps, std::span<const double> layer_seconds,
                                          double stream_fps, std::int64_t frames) {
    const std::string who = "experiment::replay";
    if (!(stream_fps > 0.0) || frames <= 0) throw error(who, "stream_fps and frames must be positive");
    const auto stream_mfps = static_cast<std::uint64_t>(std::llround(stream_fps * 1000.0));
    std::vector<std::uint64_t> app_mfps;
    for (std::size_t a = 0; a < apps.size(); ++a) {
        if (!(apps[a].fps > 0.0) || apps[a].fps > stream_fps + 1e-9)
            throw error(who + ": app " + std::to_string(a),
                        "frame rate " + std::to_string(apps[a].fps) + " must be in (0, stream fps]");
        if (apps[a].num_frozen > layer_seconds.size())
            throw error(who + ": app " + std::to_string(a), "num_frozen is beyond the latency table");
        app_mfps.push_back(static_cast<std::uint64_t>(std::llround(apps[a].fps * 1000.0)));
    }
    replay_result r;
    r.processed.assign(apps.size(), std::vector<bool>(static_cast<std::size_t>(frames), false));
    r.duration_seconds = static_cast<double>(frames) / stream_fps;
    r.planned_cost = plan_cost(apps, layer_seconds);
    double busy_until = 0.0;
    std::vector<bool> wanting(apps.size());
    for (std::int64_t j = 0; j < frames; ++j) {
        bool any = false;
        for (std::size_t a = 0; a < apps.size(); ++a) {
            wanting[a] = takes_frame(static_cast<std::uint64_t>(j), app_mfps[a], stream_mfps);
            any = any || wanting[a];
        }
        if (!any) continue;
        const double arrival = static_cast<double>(j) / stream_fps;
        if (busy_until > arrival + 1e-12) {
            ++r.dropped_frames;
            continue;
        }
        const double work = frame_seconds(apps, wanting, layer_seconds);
        busy_until = arrival + work;
        r.busy_seconds += work;
        ++r.processed_frames;
        for (std::size_t a = 0; a < apps.size(); ++a)
            if (wanting[a]) r.processed[a][static_cast<std::size_t>(j)] = true;
    }
    for (const auto& p : r.processed) {
        std::int64_t n = 0;
        for (bool b : p) n += b ? 1 : 0;
        r.achieved_fps.push_back(static_cast<double>(n) / r.duration_seconds);
    }
    r.measured_load = r.busy_seconds / r.duration_seconds;
    return r;
}

}  // namespace stemshare::experiment
