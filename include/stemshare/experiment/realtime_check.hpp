#pragma once
/// \file
/// `experiment::compare_realtime`: one configuration of a sweep run both ways on the same first
/// frames of the stream, on the wall clock through the runtime's executor and replayed on the
/// latency table, to show how far replay's accounting is from a real run (docs/experiment.md,
/// "Real time vs replay").

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/realtime.hpp>
#include <stemshare/experiment/replay.hpp>
#include <stemshare/experiment/sweep.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/runtime/speed_tracker.hpp>

namespace stemshare::experiment {

/// One frame the live run processed: its measured executor time beside the table's for the same
/// apps (`frame_seconds` with the sweep's step cost), before the box's share.
struct live_frame_cost {
    std::int64_t frame = 0;
    double idle_seconds = 0.0;
    double executor_seconds = 0.0;
    double table_seconds = 0.0;
    /// The box's speed a `runtime::speed_tracker` had tracked by this frame from the frames before
    /// it (1 until a window moves it): `stemshare run` charges the frame table_seconds x speed.
    double tracked_speed = 1.0;
    /// Apps that ran on it and steps the executor ran (`frame_work::steps`).
    std::size_t apps = 0;
    std::size_t steps = 0;
};

struct realtime_check_options {
    /// Seconds of stream per window of `window_executor_over_table` and of the tracked speed.
    double window_seconds = 10.0;
    /// When a window moves the tracked speed (`runtime::speed_tracker_options::tolerance`, whose
    /// default `stemshare run --speed-tolerance` also takes). 0: the speed stays 1.
    double speed_tolerance = runtime::speed_tracker_options{}.tolerance;
};

/// Real time against replay for one plan; each pair is (real time, replay), means over apps.
struct realtime_comparison {
    std::size_t app_count = 0;
    std::string policy;
    /// Seconds of stream both runs covered.
    double seconds = 0.0;
    double f1_realtime = 0.0;
    double f1_replay = 0.0;
    double fps_realtime = 0.0;
    double fps_replay = 0.0;
    std::int64_t drops_realtime = 0;
    std::int64_t drops_replay = 0;
    double load_realtime = 0.0;
    double load_replay = 0.0;
    /// Mean measured time of a processed frame in the executor (before the box's share), and what
    /// the latency table adds up to for the same frames.
    double executor_frame_us = 0.0;
    double table_frame_us = 0.0;
    /// The table's mean time of the frames the live run processed (`table_frame_us` is over the
    /// frames the replay processed: the same set unless either dropped one), and the median over
    /// those frames of executor / table time.
    double table_live_frames_us = 0.0;
    double median_executor_over_table = 0.0;
    /// Every frame the live run processed.
    std::vector<live_frame_cost> frames;
    /// Executor / table time (sums) per `window_seconds` of stream, over the windows with frames
    /// (`runtime::speed_tracker::windows`): this box's speed drifts over tens of seconds, and these
    /// show how much within the run.
    double window_seconds = 10.0;
    std::vector<double> window_executor_over_table;
    /// The table's mean time of the live frames at the tracked speed (`live_frame_cost::
    /// tracked_speed`): what `stemshare run`'s speed tracking charges them from the windows before
    /// each. The plan stays the start's here (run would re-plan at every speed change), so this
    /// measures the tracked cost model only, not the fps or drops a re-plan would change.
    double table_tracked_live_frames_us = 0.0;
    /// How often the tracked speed moved.
    std::size_t speed_changes = 0;
    /// Median measured executor time of a processed frame, and `sleep_warm`'s rehearsal time per
    /// processed frame (charged to the box too; 0 with other waits).
    double executor_frame_median_us = 0.0;
    double warm_frame_us = 0.0;
    /// The smallest live fps / planned fps over the apps.
    double min_fps_ratio = 0.0;
    /// How the stream thread waited for frames.
    runtime::frame_wait::kind wait = runtime::frame_wait::kind::sleep;
    /// Wall-clock seconds the real-time run took.
    double realtime_seconds = 0.0;
};

/// Runs `row`'s plan (a row of `run_sweep(in)`) on the first `frames` frames of `in`'s stream in
/// real time and in replay, and scores both. Every app of the row needs its `candidate_model`.
[[nodiscard]] inline realtime_comparison compare_realtime(const sweep_input& in, const sweep_row& row,
                                                          std::int64_t frames,
                                                          const realtime_check_options& o = {}) {
    const std::string who = "experiment::compare_realtime";
    // Made before the run, so a bad window or tolerance is refused before a minute of stream. It
    // records every window whatever the tolerance, so it gives the windows too.
    runtime::speed_tracker tracked({.window_seconds = o.window_seconds, .tolerance = o.speed_tolerance});
    if (in.stream == nullptr) throw error(who + ": stream", "no stream given");
    if (!(in.budget > 0.0)) throw error(who + ": budget", "must be positive");
    if (frames <= 0 || frames > in.stream->frame_count())
        throw error(who + ": frames", "must be in [1, " + std::to_string(in.stream->frame_count()) +
                                          "], got " + std::to_string(frames));
    const std::size_t n = row.plan.apps.size();
    if (n == 0 || n > in.apps.size())
        throw error(who + ": row",
                    "plans " + std::to_string(n) + " apps; the input has " + std::to_string(in.apps.size()));
    for (std::size_t a = 0; a < n; ++a)
        if (!in.apps[a].candidate_model)
            throw error(who + ": app '" + in.apps[a].name + "'",
                        "has no candidate_model to run in real time");

    const frame_stream& stream = *in.stream;
    const double stream_fps = stream.fps();
    const std::vector<double> box_latency = on_box(layer_seconds(in.latencies), in.budget);
    const std::vector<double> box_second_copy = on_box(second_copy_seconds(in.latencies), in.budget);
    std::vector<replay_app> plan_apps;
    std::vector<const candidate_decisions*> chosen;
    for (std::size_t a = 0; a < n; ++a) {
        const auto k = static_cast<std::size_t>(row.plan.apps[a].num_frozen);
        plan_apps.push_back({k, row.plan.apps[a].fps});
        chosen.push_back(&in.apps[a].predictions.at(k));
    }
    detail::apply_stagger(in, plan_apps);

    realtime_comparison c;
    c.app_count = n;
    c.policy = row.policy;
    c.seconds = static_cast<double>(frames) / stream_fps;
    c.window_seconds = o.window_seconds;
    const auto started = std::chrono::steady_clock::now();
    const realtime_result rt =
        run_realtime(stream.frames(), stream_fps, detail::realtime_apps_of(in, row.plan), frames,
                     {.box_share = in.budget, .wait = in.wait});
    c.realtime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const replay_result rp =
        replay(plan_apps, box_latency, stream_fps, frames, box_second_copy, in.step_seconds / in.budget);
    const std::int64_t window = stream.event_frames();
    const detail::sweep_outcome mr = detail::score(rt.decisions, in.apps, frames, window);
    const detail::sweep_outcome mp = detail::score(detail::decisions_of(rp, chosen), in.apps, frames, window);
    const auto count = static_cast<double>(n);
    for (std::size_t a = 0; a < n; ++a) {
        c.f1_realtime += mr.f1[a] / count;
        c.f1_replay += mp.f1[a] / count;
        c.fps_realtime += rt.achieved_fps[a] / count;
        c.fps_replay += rp.achieved_fps[a] / count;
    }
    c.min_fps_ratio = 1e300;
    for (std::size_t a = 0; a < n; ++a)
        c.min_fps_ratio = std::min(c.min_fps_ratio, rt.achieved_fps[a] / row.plan.apps[a].fps);
    c.wait = in.wait.rule;
    c.executor_frame_median_us = rt.median_frame_seconds * 1e6;
    c.warm_frame_us = rt.mean_warm_seconds * 1e6;
    c.drops_realtime = rt.dropped_frames;
    c.drops_replay = rp.dropped_frames;
    c.load_realtime = rt.measured_load;
    c.load_replay = rp.measured_load;
    c.executor_frame_us = rt.mean_frame_seconds * 1e6;
    c.table_frame_us = rp.processed_frames > 0
                           ? rp.busy_seconds * in.budget / static_cast<double>(rp.processed_frames) * 1e6
                           : 0.0;

    const std::vector<double> first = layer_seconds(in.latencies);
    const std::vector<double> further = second_copy_seconds(in.latencies);
    std::vector<bool> ran(n);
    std::vector<double> ratios;
    double table_sum = 0.0;
    double tracked_sum = 0.0;
    for (const live_frame& f : rt.frames_run) {
        std::size_t apps = 0;
        for (std::size_t a = 0; a < n; ++a) {
            ran[a] = rt.decisions[a][static_cast<std::size_t>(f.frame)] != frame_decision::not_processed;
            apps += ran[a] ? 1 : 0;
        }
        const frame_work w = frame_parts(plan_apps, ran, first, further);
        const double table =
            w.first_seconds + w.further_seconds + in.step_seconds * static_cast<double>(w.steps);
        const double at = static_cast<double>(f.frame) / stream_fps;
        // A frame that closes a window runs at the speed that window set (run re-plans then).
        (void)tracked.add(at, f.spent_seconds, table);
        c.frames.push_back({.frame = f.frame,
                            .idle_seconds = f.idle_seconds,
                            .executor_seconds = f.spent_seconds,
                            .table_seconds = table,
                            .tracked_speed = tracked.speed(),
                            .apps = apps,
                            .steps = w.steps});
        table_sum += table;
        tracked_sum += table * tracked.speed();
        if (table > 0.0) ratios.push_back(f.spent_seconds / table);
    }
    tracked.finish();
    c.window_executor_over_table = tracked.windows();
    c.speed_changes = tracked.changes();
    if (!c.frames.empty()) {
        c.table_live_frames_us = table_sum / static_cast<double>(c.frames.size()) * 1e6;
        c.table_tracked_live_frames_us = tracked_sum / static_cast<double>(c.frames.size()) * 1e6;
    }
    c.median_executor_over_table = profiling::median(std::move(ratios));
    return c;
}

}  // namespace stemshare::experiment
