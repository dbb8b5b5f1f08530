#pragma once
/// \file
/// `experiment::run_realtime`: the M-Runner. Plays a stream at its frame rate on the wall clock
/// through `runtime::executor` under a plan and records what every app decided on every frame.
///
/// - Frame j arrives at t0 + j / F. When the box is still busy with an earlier frame at that
///   moment, the frame is dropped (`executor::drop_frame`: nothing runs, nothing is queued);
///   otherwise the runner waits for its arrival and runs it: each shared stem once, each app's
///   suffix on the frames its rate selects (the rule replay.hpp restates).
/// - The box. `box_share` emulates a device with that fraction of this machine's core (above 1:
///   a faster one): the frame really runs here, and the box then stays busy for the measured
///   time / box_share. With box_share = 1 the box is this core. The experiment's 28 x 28 models are so cheap
///   that contention on a real core needs thousands of frames per second; a small box_share keeps the stream
///   at video rates and makes the real-time run and the replay charge the same work.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/event_eval.hpp>
#include <stemshare/experiment/replay.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/runtime/frame_wait.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::experiment {

/// One app of the plan: its candidate model (bound, whole graph), branch point and frame rate.
struct realtime_app {
    std::string name;
    graph model;
    std::size_t num_frozen = 0;
    double fps = 0.0;
    /// Stream frames the app's frames are shifted by (branch point 0 only; `stagger_phases`).
    std::uint64_t phase = 0;
};

struct realtime_options {
    /// Speed of the emulated box as a fraction of this machine's core (see the file comment).
    double box_share = 1.0;
    /// oneDNN threads per step.
    int threads = 1;
    /// How the stream thread waits for a frame's arrival (runtime/frame_wait.hpp). With
    /// `sleep_warm` the rehearsal is real work: its time is charged to the box like a frame's.
    runtime::frame_wait wait{};
};

/// One frame the box ran, as the stream thread timed it.
struct live_frame {
    std::int64_t frame = 0;
    /// Seconds from the stream's start to the frame's start.
    double start_seconds = 0.0;
    /// Measured executor time of the frame, on this machine (before box_share).
    double spent_seconds = 0.0;
    /// Seconds the executor sat idle before it: since the previous processed frame ended (since the
    /// warm-up ended for the first; a `sleep_warm` rehearsal counts as idle). Layers run colder
    /// after longer gaps (experiment/frame_calibration.hpp).
    double idle_seconds = 0.0;
};

struct realtime_result {
    /// decisions[a][j]: app a's decision on stream frame j.
    std::vector<std::vector<frame_decision>> decisions;
    std::vector<double> achieved_fps;
    /// Frames some app wanted that arrived while the box was busy.
    std::int64_t dropped_frames = 0;
    std::int64_t processed_frames = 0;
    /// Box time spent (measured time / box_share) and the wall time the stream took.
    double busy_seconds = 0.0;
    double duration_seconds = 0.0;
    /// busy_seconds per second of stream.
    double measured_load = 0.0;
    /// Measured time of the frames that ran, per frame, on this machine (before box_share).
    double mean_frame_seconds = 0.0;
    /// The same, median over the frames that ran.
    double median_frame_seconds = 0.0;
    /// Measured time of `sleep_warm`'s rehearsals, per processed frame (0 with other waits).
    double mean_warm_seconds = 0.0;
    /// Every processed frame, in stream order.
    std::vector<live_frame> frames_run;
};

/// Runs `frame_count` frames of `frames` {N, c, h, w} at `stream_fps` under `apps`, in real time.
[[nodiscard]] inline realtime_result run_realtime(const tensor<float>& frames, double stream_fps,
                                                  const std::vector<realtime_app>& apps,
                                                  std::int64_t frame_count,
                                                  const realtime_options& options = {}) {
    const std::string who = "experiment::run_realtime";
    const dims& d = frames.extents();
    if (d.rank() != 4 || frame_count <= 0 || frame_count > d[0])
        throw error(who, "need {N, c, h, w} frames and 0 < frame_count <= N");
    if (!(options.box_share > 0.0)) throw error(who, "box_share must be positive");
    if (apps.empty()) throw error(who, "no app to run");
    std::vector<replay_app> plan;
    std::vector<std::string> names;
    for (const auto& a : apps) {
        plan.push_back({a.num_frozen, a.fps, a.phase});
        names.push_back(a.name);
    }
    // Before any executor: checks stream_fps and every app's rate (each step divides by its parent's).
    detail::step_chain chain(plan, stream_fps, who, names);

    const runtime::executor_options settings{
        .input = {d[1], d[2], d[3]}, .stream_fps = stream_fps, .threads = options.threads};
    const tensor_view<const float> first(frames.data(), dims{1, d[1], d[2], d[3]});
    {
        // oneDNN creates and JIT-compiles primitives on their first run; the process-wide
        // primitive cache keeps them, so a throw-away executor takes that cost off the clock
        // without shifting the real one's frame numbers.
        runtime::executor warm(settings);
        for (const auto& a : apps)
            warm.add_app(a.name, a.model, {.num_frozen = a.num_frozen, .fps = stream_fps});
        for (int i = 0; i < 3; ++i) (void)warm.process(first);
    }
    runtime::executor box(settings);
    for (const auto& a : apps)
        box.add_app(a.name, a.model, {.num_frozen = a.num_frozen, .fps = a.fps, .phase = a.phase});

    realtime_result r;
    r.decisions.assign(apps.size(), std::vector<frame_decision>(static_cast<std::size_t>(frame_count),
                                                                frame_decision::not_processed));
    std::vector<std::int64_t> taken(apps.size(), 0);
    std::vector<bool> wanting(apps.size());
    const std::int64_t item = d[1] * d[2] * d[3];
    using steady = std::chrono::steady_clock;
    const auto seconds = [](steady::duration x) { return std::chrono::duration<double>(x).count(); };
    double measured = 0.0;
    double warmed = 0.0;
    r.frames_run.reserve(static_cast<std::size_t>(frame_count));  // no allocation on the stream's clock
    steady::time_point last_end = steady::now();
    const steady::time_point t0 = last_end + std::chrono::milliseconds(20);
    steady::time_point busy_until = t0;
    for (std::int64_t j = 0; j < frame_count; ++j) {
        const steady::time_point arrival =
            t0 + std::chrono::duration_cast<steady::duration>(
                     std::chrono::duration<double>(static_cast<double>(j) / stream_fps));
        const bool wanted = chain.select(static_cast<std::uint64_t>(j), wanting);
        if (busy_until > arrival) {
            box.drop_frame();
            r.dropped_frames += wanted ? 1 : 0;
            continue;
        }
        const tensor_view<const float> frame(frames.data() + j * item, dims{1, d[1], d[2], d[3]});
        double warm_spent = 0.0;
        if (wanted && options.wait.rule == runtime::frame_wait::kind::sleep_warm) {
            // The rehearsal runs on the previous frame (the next one has not arrived yet).
            const tensor_view<const float> before(frames.data() + (j > 0 ? j - 1 : 0) * item,
                                                  dims{1, d[1], d[2], d[3]});
            std::this_thread::sleep_until(arrival - options.wait.lead);
            const steady::time_point warm_start = steady::now();
            box.warm(before);
            warm_spent = seconds(steady::now() - warm_start);
            std::this_thread::sleep_until(arrival);
        } else if (wanted || options.wait.rule == runtime::frame_wait::kind::spin) {
            options.wait.wait_until(arrival, box, frame);
        } else {
            std::this_thread::sleep_until(arrival);
        }
        const steady::time_point start = steady::now();
        const runtime::frame_result& out = box.process(frame);
        const steady::time_point end = steady::now();
        const double spent = seconds(end - start);
        if (out.stem_runs + out.suffix_runs == 0) continue;
        r.frames_run.push_back({.frame = j,
                                .start_seconds = seconds(start - t0),
                                .spent_seconds = spent,
                                .idle_seconds = seconds(start - last_end)});
        last_end = end;
        measured += spent;
        warmed += warm_spent;
        ++r.processed_frames;
        const double charged = (spent + warm_spent) / options.box_share;
        r.busy_seconds += charged;
        busy_until =
            start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(charged));
        for (std::size_t a = 0; a < apps.size(); ++a) {
            const runtime::app_result* res = out.find(apps[a].name);
            if (res == nullptr || !res->processed) continue;
            r.decisions[a][static_cast<std::size_t>(j)] =
                res->decision == 1 ? frame_decision::positive : frame_decision::negative;
            ++taken[a];
        }
    }
    r.duration_seconds = static_cast<double>(frame_count) / stream_fps;
    for (std::int64_t t : taken) r.achieved_fps.push_back(static_cast<double>(t) / r.duration_seconds);
    r.measured_load = r.busy_seconds / r.duration_seconds;
    r.mean_frame_seconds = r.processed_frames > 0 ? measured / static_cast<double>(r.processed_frames) : 0.0;
    r.mean_warm_seconds = r.processed_frames > 0 ? warmed / static_cast<double>(r.processed_frames) : 0.0;
    std::vector<double> spent;
    spent.reserve(r.frames_run.size());
    for (const live_frame& f : r.frames_run) spent.push_back(f.spent_seconds);
    r.median_frame_seconds = profiling::median(std::move(spent));
    return r;
}

}  // namespace stemshare::experiment
