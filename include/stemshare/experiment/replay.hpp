#pragma once
/// \file
/// `experiment::replay`: faster-than-real-time accounting of a plan on a stream. Instead of
/// running models in real time, it charges each frame the measured latencies of the layers the
/// plan runs for it and keeps a virtual clock, so many (plan, budget, fps) configurations can be
/// swept in milliseconds; the per-frame predictions come from one offline pass per candidate.
///
/// The rules, the same as the real-time runner's (runtime::executor, runtime/frame_rate.hpp):
/// - Frame j arrives at j / F. The plan is a chain of stem steps, one per distinct branch point
///   k > 0 of the apps (layers from the previous one up to k), each at the highest rate of the
///   apps at or below it, and one suffix step per app, fed by the stem step ending at its k (or by
///   the stream for k = 0). A step at rate r under a parent at rate p takes the parent's frame
///   number i when i = 0 or floor(i r / p) > floor((i - 1) r / p) and numbers it floor(i r / p)
///   (rates in thousandths of a frame per second), so each app gets exactly f_a frames per second
///   and a stem exactly the highest f_a below it, as the cost model (docs/scheduler.md) assumes. A step
///   numbers a frame from its parent's number of the same frame, so whether an app wants frame j
///   depends on j alone, never on which earlier frames were dropped.
///   An app at branch point 0 may have a phase (runtime/frame_rate.hpp, `selects_with_phase`):
///   its frames are the stream's shifted by that many frames, so apps at one rate can take
///   different frames (`stagger_phases`).
/// - One box processes one frame at a time. A frame that arrives while the box is still busy is
///   dropped for every app that wanted it (never queued), as Mainstream's M-Runner does; no step
///   numbers it, so an app whose turn fell on it loses that frame.
/// - Work for a frame, from the cost model of docs/scheduler.md applied to the apps that want
///   it: layer l runs once for all wanting apps that share it (num_frozen > l) and once more for
///   each wanting app with num_frozen <= l (its own copy).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/runtime/frame_rate.hpp>

namespace stemshare::experiment {

/// One app of a plan: its branch point and frame rate.
struct replay_app {
    std::size_t num_frozen = 0;
    double fps = 0.0;
    /// Stream frames the app's frames are shifted by (branch point 0 only; runtime/frame_rate.hpp,
    /// `selects_with_phase`). 0: the original rule.
    std::uint64_t phase = 0;
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
    /// The plan's cost (compute-seconds per second of stream) by the cost model's formula, and the
    /// busy time per second of stream actually spent.
    double planned_cost = 0.0;
    double measured_load = 0.0;
};

/// True when a step at `child_mfps` takes frame j of a parent at `parent_mfps` (millifps).
[[nodiscard]] constexpr bool takes_frame(std::uint64_t j, std::uint64_t child_mfps,
                                         std::uint64_t parent_mfps) noexcept {
    // runtime's overflow-free floor(j r / p): exact for every 64-bit frame number.
    return j == 0 || runtime::scale_frame_number(j, child_mfps, parent_mfps) !=
                         runtime::scale_frame_number(j - 1, child_mfps, parent_mfps);
}

/// The work of one frame for the apps marked in `wanting`, in the parts a frame cost model
/// charges (`frame_seconds`).
struct frame_work {
    /// Seconds of each layer's first run in the frame, and of its further copies.
    double first_seconds = 0.0;
    double further_seconds = 0.0;
    /// The part of `further_seconds` in the model's entry block (the layers before `entry_layers`
    /// of `frame_parts`): the copies apps at branch point 0 run on the frame itself.
    double entry_further_seconds = 0.0;
    /// Steps the runtime runs: one per stem step the frame needs (the plan's distinct branch
    /// points k > 0 up to the deepest wanting app's), one per wanting app's suffix.
    std::size_t steps = 0;
};

/// The parts of `frame_seconds`. `further_seconds` empty: every copy at `layer_seconds`. The
/// further copies of the first `entry_layers` layers are also summed apart.
[[nodiscard]] inline frame_work frame_parts(std::span<const replay_app> apps,
                                            const std::vector<bool>& wanting,
                                            std::span<const double> layer_seconds,
                                            std::span<const double> further_seconds = {},
                                            std::size_t entry_layers = 0) {
    if (!further_seconds.empty() && further_seconds.size() != layer_seconds.size())
        throw error("experiment::frame_seconds",
                    "second_copy_seconds has " + std::to_string(further_seconds.size()) +
                        " layers; the latency table has " + std::to_string(layer_seconds.size()));
    frame_work w;
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
        const std::size_t copies = own + (shared ? 1 : 0);
        if (copies == 0) continue;
        w.first_seconds += layer_seconds[l];
        const double further = (further_seconds.empty() ? layer_seconds[l] : further_seconds[l]) *
                               static_cast<double>(copies - 1);
        w.further_seconds += further;
        if (l < entry_layers) w.entry_further_seconds += further;
    }
    std::size_t deepest = 0;
    for (std::size_t a = 0; a < apps.size(); ++a)
        if (wanting[a]) {
            deepest = std::max(deepest, apps[a].num_frozen);
            ++w.steps;
        }
    // Distinct branch points in (0, deepest], without allocating: replay calls this every frame.
    for (std::size_t a = 0; a < apps.size(); ++a) {
        const std::size_t k = apps[a].num_frozen;
        if (k == 0 || k > deepest) continue;
        bool seen = false;
        for (std::size_t b = 0; b < a && !seen; ++b) seen = apps[b].num_frozen == k;
        w.steps += seen ? 0 : 1;
    }
    return w;
}

/// Seconds to process one frame for the apps marked in `wanting`. With `second_copy_seconds`
/// (a table measured with `profiling::profile_options::second_copy`), a layer that runs several
/// times in the frame costs `layer_seconds` once and `second_copy_seconds` for every further copy;
/// without, every copy costs `layer_seconds`. `step_seconds` is charged once per step the runtime
/// runs for the frame (`frame_work::steps`): a step's call, boundary reorders and bookkeeping,
/// which no layer of a whole-model table pays (`experiment::calibrate_frames` measures it).
[[nodiscard]] inline double frame_seconds(std::span<const replay_app> apps, const std::vector<bool>& wanting,
                                          std::span<const double> layer_seconds,
                                          std::span<const double> second_copy_seconds = {},
                                          double step_seconds = 0.0) {
    const frame_work w = frame_parts(apps, wanting, layer_seconds, second_copy_seconds);
    return w.first_seconds + w.further_seconds + step_seconds * static_cast<double>(w.steps);
}

/// The plan's cost per second of stream: sum over layers of latency x (sum of own-copy rates +
/// max of sharing rates), the cost model of docs/scheduler.md.
[[nodiscard]] inline double plan_cost(std::span<const replay_app> apps,
                                      std::span<const double> layer_seconds) {
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

/// Phases that stagger the plan's branch-point-0 apps: the apps at one rate get
/// `runtime::stagger_phase(i, count, ...)` in plan order, every other app phase 0. Only these
/// apps read the stream themselves; apps that share a stem take the stem's frames.
[[nodiscard]] inline std::vector<std::uint64_t> stagger_phases(std::span<const replay_app> apps,
                                                               double stream_fps) {
    const std::string who = "experiment::stagger_phases";
    const runtime::frame_rate stream = runtime::frame_rate::from_fps(stream_fps, who);
    std::vector<std::uint64_t> phases(apps.size(), 0);
    for (std::size_t a = 0; a < apps.size(); ++a) {
        if (apps[a].num_frozen != 0) continue;
        const runtime::frame_rate rate = runtime::frame_rate::from_fps(apps[a].fps, who);
        std::uint64_t index = 0;
        std::uint64_t count = 0;
        for (std::size_t b = 0; b < apps.size(); ++b) {
            if (apps[b].num_frozen != 0 || runtime::frame_rate::from_fps(apps[b].fps, who) != rate) continue;
            index += b < a ? 1 : 0;
            ++count;
        }
        phases[a] = runtime::stagger_phase(index, count, rate, stream);
    }
    return phases;
}

namespace detail {
/// The plan's steps as the runtime builds them for apps of one base model: a chain of stem steps
/// at the distinct branch points, then one suffix per app.
class step_chain {
public:
    /// Checks every rate on the way: the stream's and each app's must be positive in whole
    /// thousandths of a frame per second (every step divides by its parent's), and no app may run
    /// faster than the stream. Errors say `who` and the app (by `names[a]` when given, else index).
    step_chain(std::span<const replay_app> apps, double stream_fps, const std::string& who,
               std::span<const std::string> names = {})
        : stream_mfps_(checked_mfps(stream_fps, who, "stream frame rate")) {
        std::vector<std::uint64_t> app_mfps;
        for (std::size_t a = 0; a < apps.size(); ++a) {
            const std::string app = a < names.size() ? "app '" + names[a] + "'" : "app " + std::to_string(a);
            const double fps = apps[a].fps;
            if (!(fps > 0.0) || !std::isfinite(fps) || fps > stream_fps + 1e-9)
                throw error(who + ": " + app, "frame rate " + std::to_string(fps) +
                                                  " must be in (0, stream fps " + std::to_string(stream_fps) +
                                                  "]");
            const std::uint64_t mfps = checked_mfps(fps, who + ": " + app, "frame rate");
            if (mfps > stream_mfps_)
                throw error(who + ": " + app, "frame rate " + std::to_string(fps) +
                                                  " is above the stream's " + std::to_string(stream_fps));
            app_mfps.push_back(mfps);
        }
        std::vector<std::size_t> levels;
        for (const auto& a : apps)
            if (a.num_frozen > 0) levels.push_back(a.num_frozen);
        std::sort(levels.begin(), levels.end());
        levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
        for (std::size_t i = 0; i < levels.size(); ++i) {
            std::uint64_t rate = 0;
            for (std::size_t a = 0; a < apps.size(); ++a)
                if (apps[a].num_frozen >= levels[i]) rate = std::max(rate, app_mfps[a]);
            steps_.push_back({static_cast<std::ptrdiff_t>(i) - 1, rate, 0});
        }
        for (std::size_t a = 0; a < apps.size(); ++a) {
            const auto at = std::find(levels.begin(), levels.end(), apps[a].num_frozen);
            if (apps[a].phase != 0 && apps[a].num_frozen != 0) {
                const std::string app =
                    a < names.size() ? "app '" + names[a] + "'" : "app " + std::to_string(a);
                throw error(who + ": " + app,
                            "a phase needs branch point 0, got " + std::to_string(apps[a].num_frozen));
            }
            steps_.push_back({at == levels.end() ? -1 : at - levels.begin(), app_mfps[a], apps[a].phase});
        }
        apps_ = apps.size();
        number_.assign(steps_.size(), 0);
        taken_.assign(steps_.size(), false);
    }

    /// Which apps want stream frame j; true when any does.
    bool select(std::uint64_t j, std::vector<bool>& wanting) {
        bool any = false;
        for (std::size_t i = 0; i < steps_.size(); ++i) {
            const step& s = steps_[i];
            const bool from_stream = s.parent < 0;
            const auto parent = static_cast<std::size_t>(s.parent);
            std::uint64_t n = from_stream ? j : number_[parent];
            const std::uint64_t p = from_stream ? stream_mfps_ : steps_[parent].mfps;
            taken_[i] =
                (from_stream || taken_[parent]) && n >= s.phase && takes_frame(n - s.phase, s.mfps, p);
            n = n >= s.phase ? n - s.phase : 0;
            if (taken_[i]) number_[i] = (n * s.mfps) / p;
        }
        for (std::size_t a = 0; a < apps_; ++a) {
            wanting[a] = taken_[steps_.size() - apps_ + a];
            any = any || wanting[a];
        }
        return any;
    }

private:
    /// `fps` in thousandths of a frame per second; throws unless that is at least 1.
    static std::uint64_t checked_mfps(double fps, const std::string& who, const std::string& what) {
        if (!(fps > 0.0) || !std::isfinite(fps))
            throw error(who, what + " " + std::to_string(fps) + " must be positive and finite");
        const auto mfps = static_cast<std::uint64_t>(std::llround(fps * 1000.0));
        if (mfps == 0)
            throw error(who, what + " " + std::to_string(fps) +
                                 " rounds to 0 thousandths of a frame per second (need at least 0.0005 fps)");
        return mfps;
    }

    struct step {
        std::ptrdiff_t parent = -1;  // -1: the stream
        std::uint64_t mfps = 0;
        std::uint64_t phase = 0;
    };
    std::uint64_t stream_mfps_;
    std::vector<step> steps_;
    std::size_t apps_ = 0;
    std::vector<std::uint64_t> number_;
    std::vector<bool> taken_;
};
}  // namespace detail

/// Which apps of a plan want each stream frame, stems included (the rule above):
/// `select(j, wanting)` for stream frame j. For runners that count the frames they drop.
using frame_selector = detail::step_chain;

/// Replays `frames` frames of a stream at `stream_fps` under the plan `apps`, with
/// `layer_seconds[l]` the measured latency of layer l for one frame and, when given,
/// `second_copy_seconds[l]` that of each further copy of it in the same frame, and
/// `step_seconds` charged per step run (`frame_seconds`).
[[nodiscard]] inline replay_result replay(std::span<const replay_app> apps,
                                          std::span<const double> layer_seconds, double stream_fps,
                                          std::int64_t frames,
                                          std::span<const double> second_copy_seconds = {},
                                          double step_seconds = 0.0) {
    const std::string who = "experiment::replay";
    if (!(stream_fps > 0.0) || frames <= 0) throw error(who, "stream_fps and frames must be positive");
    if (!(step_seconds >= 0.0) || !std::isfinite(step_seconds))
        throw error(who + ": step_seconds",
                    "must be 0 or positive and finite, got " + std::to_string(step_seconds));
    detail::step_chain chain(apps, stream_fps, who);  // checks every rate
    for (std::size_t a = 0; a < apps.size(); ++a)
        if (apps[a].num_frozen > layer_seconds.size())
            throw error(who + ": app " + std::to_string(a), "num_frozen is beyond the latency table");
    replay_result r;
    r.processed.assign(apps.size(), std::vector<bool>(static_cast<std::size_t>(frames), false));
    r.duration_seconds = static_cast<double>(frames) / stream_fps;
    r.planned_cost = plan_cost(apps, layer_seconds);
    double busy_until = 0.0;
    std::vector<bool> wanting(apps.size());
    for (std::int64_t j = 0; j < frames; ++j) {
        if (!chain.select(static_cast<std::uint64_t>(j), wanting)) continue;
        const double arrival = static_cast<double>(j) / stream_fps;
        if (busy_until > arrival + 1e-12) {
            ++r.dropped_frames;
            continue;
        }
        const double work = frame_seconds(apps, wanting, layer_seconds, second_copy_seconds, step_seconds);
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
