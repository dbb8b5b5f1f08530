#pragma once
/// \file
/// `experiment::burst_fit`: planning that sees per-frame bursts, beside the section 5 planners.
///
/// The section 5 cost model charges a plan its average work per second of stream. On the box a
/// frame is processed at once for every app that wants it, and a frame that arrives while the box
/// is still busy is dropped (replay.hpp). So a plan whose average fits the budget still drops
/// frames when the work of one frame is longer than the gap to the next wanted frame: ten apps at 4
/// of 15 fps want frames 0, 4, 8, 12, 15, ... (gaps of 4, 4, 4 and 3 frames), and at cost/B = 0.99
/// a frame takes 0.99 / 4 s > 3 / 15 s, so one wanted frame in four is lost and every app runs at
/// 3 fps instead of the planned 4 (docs/experiment.md, issue 15).
///
/// `burst_fit` keeps the planner as it is and lowers the budget it is given until the plan's
/// frames fit: the plan is replayed on the box's clock (the table's latencies / B, each scaled by
/// 1 + margin) over one period of its frame pattern, and accepted when no wanted frame is dropped.
/// One period is enough: the pattern of wanted frames repeats every `pattern_period` frames, and
/// when no frame is dropped the box is idle at every wanted frame, so every period replays the
/// same. The plan it returns is the original planner's for the largest budget tried that fits.
/// `cap_rates` makes a plan fit the other way (its models at lower rates), and `burst_plan` runs
/// both and keeps the one the planning model scores higher: the `mainstream+burst` policy of the
/// demo and `stemshare run --burst-fit`.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/replay.hpp>
#include <stemshare/sched/plan.hpp>
#include <stemshare/sched/planner.hpp>
#include <stemshare/sched/problem.hpp>

namespace stemshare::experiment {

/// Settings of `burst_fit`.
struct burst_fit_options {
    /// Each frame's work is charged (1 + margin) times its table time, so a live frame may run
    /// that much longer than the table says and still not cost the next wanted frame.
    double margin = 0.0;
    /// Each try that does not fit lowers the budget to at most this fraction of the last one.
    double step = 0.98;
    /// Plans tried before giving up.
    int max_tries = 200;
    /// Speed of the box as a fraction of one core: every layer takes its table time / box_share.
    /// 0: the budget, the emulated box of the sweep and the demo.
    double box_share = 0.0;
    /// Per-layer seconds of each further copy of a layer in one frame, on this machine
    /// (`profiling::layer_latency::second_copy`); empty: every copy costs the table's time.
    std::vector<double> second_copy_seconds{};
    /// Seconds charged per step the runtime runs for a frame, on this machine (`frame_seconds`,
    /// `experiment::calibrate_frames`); 0: none.
    double step_seconds = 0.0;
    /// The longest replay a fit check runs, in stream frames; a pattern with a longer period is
    /// checked over this many frames only (`burst_fit_result::whole_period` says which).
    std::int64_t max_check_frames = 1'000'000;
};

/// What `burst_fit` found.
struct burst_fit_result {
    /// The planner's plan for `fitted_budget`, with `budget` set back to the budget asked for (the
    /// plan's cost is at most `fitted_budget`, so it is feasible for that budget too).
    sched::plan plan;
    /// The budget the returned plan was planned with (the budget asked for when it fit at once).
    double fitted_budget = 0.0;
    /// Whether the returned plan's frames fit (no wanted frame dropped in its replay). False when
    /// no budget down to the planner's cheapest plan fits; `plan` is then the last plan tried.
    bool fits = false;
    /// Wanted frames the returned plan's check dropped (0 when it fits).
    std::int64_t dropped_frames = 0;
    /// Stream frames of the fit check, and whether they covered a whole period of the pattern.
    std::int64_t check_frames = 0;
    bool whole_period = true;
    /// How many plans were made.
    int tries = 0;
    /// `cap_rates` only: the rate every app was capped at (0: the plan kept its rates).
    double rate_cap = 0.0;
};

/// Stream frames after which the plan's pattern of wanted frames repeats (after the largest
/// phase): the lcm over the plan's steps of F / gcd(F, r), rates in thousandths of a frame per
/// second. Every step numbers stream frame s as floor(s r / F) (minus a phase), so shifting s by a
/// multiple of F / gcd(F, r) shifts the step's number by a whole number of frames for every step,
/// stems and suffixes alike. Saturates at `cap`.
[[nodiscard]] inline std::int64_t pattern_period(std::span<const replay_app> apps, double stream_fps,
                                                 std::int64_t cap) {
    const auto mfps = [](double fps) { return static_cast<std::int64_t>(std::llround(fps * 1000.0)); };
    const std::int64_t stream = mfps(stream_fps);
    if (stream <= 0) throw error("experiment::pattern_period", "stream frame rate must be positive");
    std::int64_t period = 1;
    // Stem steps run at the largest rate of the apps below them, which is some app's rate, so the
    // apps' rates cover every step's.
    for (const auto& a : apps) {
        const std::int64_t r = mfps(a.fps);
        if (r <= 0) continue;
        const std::int64_t own = stream / std::gcd(stream, r);
        const std::int64_t g = std::gcd(period, own);
        if (period / g > cap / own) return cap;
        period = std::min(cap, period / g * own);
    }
    return period;
}

/// Replays one period of `apps` (plus the next period's first frame, whose arrival bounds the
/// period's last work) on `box_seconds` (and `box_second_copy` and `box_step`, see
/// `frame_seconds`) scaled by 1 + `margin`; returns the replay.
[[nodiscard]] inline replay_result check_bursts(std::span<const replay_app> apps,
                                                std::span<const double> box_seconds, double stream_fps,
                                                double margin, std::int64_t max_frames,
                                                bool* whole_period = nullptr,
                                                std::span<const double> box_second_copy = {},
                                                double box_step = 0.0) {
    std::uint64_t phase = 0;
    for (const auto& a : apps) phase = std::max(phase, a.phase);
    const std::int64_t period = pattern_period(apps, stream_fps, max_frames);
    const std::int64_t frames =
        std::min<std::int64_t>(max_frames, static_cast<std::int64_t>(phase) + period + 1);
    if (whole_period != nullptr) *whole_period = frames == static_cast<std::int64_t>(phase) + period + 1;
    std::vector<double> charged(box_seconds.begin(), box_seconds.end());
    for (double& s : charged) s *= 1.0 + margin;
    std::vector<double> charged_copy(box_second_copy.begin(), box_second_copy.end());
    for (double& s : charged_copy) s *= 1.0 + margin;
    return replay(apps, charged, stream_fps, frames, charged_copy, box_step * (1.0 + margin));
}

namespace detail {

/// The box a fit is checked on: the table's layers / the box's share, and the plans' phases.
class burst_box {
public:
    using phase_rule = std::function<std::vector<std::uint64_t>(const sched::plan&)>;

    /// Throws `stemshare::error` naming the option on bad `options` or `budget`.
    burst_box(std::span<const double> layer_seconds, double stream_fps, double budget,
              const burst_fit_options& options, phase_rule phases)
        : stream_fps_(stream_fps), options_(options), phases_(std::move(phases)) {
        const std::string who = "experiment::burst_fit";
        if (!(budget > 0.0) || !std::isfinite(budget))
            throw error(who + ": budget", "must be positive and finite");
        if (!(options.margin >= 0.0) || !(options.margin < 10.0))
            throw error(who + ": margin", "must be in [0, 10), got " + std::to_string(options.margin));
        if (!(options.step > 0.0) || !(options.step < 1.0))
            throw error(who + ": step", "must be in (0, 1), got " + std::to_string(options.step));
        if (!(options.box_share >= 0.0) || !std::isfinite(options.box_share))
            throw error(who + ": box_share", "must be 0 (the budget) or positive");
        if (options.max_tries < 1 || options.max_check_frames < 2)
            throw error(who, "max_tries must be >= 1 and max_check_frames >= 2");
        if (!options.second_copy_seconds.empty() &&
            options.second_copy_seconds.size() != layer_seconds.size())
            throw error(who + ": second_copy_seconds",
                        "has " + std::to_string(options.second_copy_seconds.size()) +
                            " layers; the latency table has " + std::to_string(layer_seconds.size()));
        const double share = options.box_share > 0.0 ? options.box_share : budget;
        for (double l : layer_seconds) box_.push_back(l / share);
        for (double l : options.second_copy_seconds) box_copy_.push_back(l / share);
        if (!(options.step_seconds >= 0.0) || !std::isfinite(options.step_seconds))
            throw error(who + ": step_seconds", "must be 0 or positive and finite");
        box_step_ = options.step_seconds / share;
    }

    /// Checks `pl` and records the check in `out` (plan, drops, frames, fits); true when it fits.
    bool check(const sched::plan& pl, burst_fit_result& out) const {
        std::vector<replay_app> apps;
        for (const auto& a : pl.apps)
            apps.push_back({static_cast<std::size_t>(std::max(0, a.num_frozen)), a.fps, 0});
        if (phases_) {
            const std::vector<std::uint64_t> p = phases_(pl);
            for (std::size_t a = 0; a < apps.size() && a < p.size(); ++a) apps[a].phase = p[a];
        }
        bool whole = true;
        const replay_result r = check_bursts(apps, box_, stream_fps_, options_.margin,
                                             options_.max_check_frames, &whole, box_copy_, box_step_);
        ++out.tries;
        out.plan = pl;
        out.dropped_frames = r.dropped_frames;
        out.check_frames = static_cast<std::int64_t>(r.processed.empty() ? 0 : r.processed.front().size());
        out.whole_period = whole;
        out.fits = r.dropped_frames == 0;
        return out.fits;
    }

private:
    double stream_fps_;
    const burst_fit_options& options_;
    phase_rule phases_;
    std::vector<double> box_;
    std::vector<double> box_copy_;
    double box_step_ = 0.0;
};

}  // namespace detail

/// The plan `plan_for(b)` for the largest budget b <= `budget` whose frames fit (see the file
/// comment). `layer_seconds` are the table's per-layer latencies of one frame on this machine;
/// the box runs them / `options.box_share` (by default / `budget`, as the sweep's replay does: a
/// box of B of one core). `phases(plan)` gives each app's phase (empty: all 0). Throws
/// `stemshare::error` on bad options; whatever `plan_for` throws (e.g. a budget below the cheapest
/// plan) ends the search, and the last plan is returned with `fits` false, or the error is passed
/// on when no plan was made.
[[nodiscard]] inline burst_fit_result burst_fit(
    const std::function<sched::plan(double budget)>& plan_for, std::span<const double> layer_seconds,
    double stream_fps, double budget, const burst_fit_options& options = {},
    const std::function<std::vector<std::uint64_t>(const sched::plan&)>& phases = {}) {
    const detail::burst_box box(layer_seconds, stream_fps, budget, options, phases);
    burst_fit_result out;
    double b = budget;
    for (int t = 0; t < options.max_tries; ++t) {
        sched::plan pl;
        try {
            pl = plan_for(b);
        } catch (const error&) {
            if (out.tries == 0) throw;
            break;
        }
        out.fitted_budget = b;
        if (box.check(pl, out)) break;
        // The shipped planners give the same plan for every budget between its cost and b (the
        // exact optimum stays optimal; a greedy takes the same steps), so the next try goes below
        // the cost.
        const double next = std::min(b * options.step, pl.cost * options.step);
        if (!(next > 0.0)) break;
        b = next;
    }
    out.plan.budget = budget;
    return out;
}

/// The other way to make a plan's frames fit: keep its branch points and cap every app's rate at
/// the largest rate of `p`'s fps grid at which they fit (`pl`'s own rates when they already do).
/// Cheaper models at the planned rate (`burst_fit`) or the planned models at a lower rate: which
/// is better depends on the apps, and `burst_plan` asks the planning model.
[[nodiscard]] inline burst_fit_result cap_rates(
    const sched::problem& p, const sched::plan& pl, std::span<const double> layer_seconds, double budget,
    const burst_fit_options& options = {},
    const std::function<std::vector<std::uint64_t>(const sched::plan&)>& phases = {}) {
    const detail::burst_box box(layer_seconds, p.stream_fps(), budget, options, phases);
    double top = 0.0;
    for (const auto& a : pl.apps) top = std::max(top, a.fps);
    std::vector<double> caps{top};
    for (auto it = p.fps_grid().rbegin(); it != p.fps_grid().rend(); ++it)
        if (*it < top) caps.push_back(*it);
    burst_fit_result out;
    out.fitted_budget = budget;
    for (double cap : caps) {
        std::vector<sched::cost_entry> choices = sched::entries(pl);
        for (auto& c : choices) c.fps = std::min(c.fps, cap);
        out.rate_cap = cap == top ? 0.0 : cap;
        if (box.check(sched::evaluate(p, choices, budget), out)) break;
    }
    return out;
}

/// Planner `kind`'s plan for `p` within `budget`, made to fit frame by frame: both `burst_fit`
/// (a lower budget) and `cap_rates` (lower rates) of it, and of those whose frames fit the one the
/// planning model scores higher under `obj` (`sched::compare`; a tie keeps `burst_fit`'s). When
/// neither fits, `burst_fit`'s.
[[nodiscard]] inline burst_fit_result burst_plan(
    const sched::problem& p, sched::planner_kind kind, double budget, std::span<const double> layer_seconds,
    const burst_fit_options& options = {},
    const std::function<std::vector<std::uint64_t>(const sched::plan&)>& phases = {},
    sched::objective obj = sched::objective::mean) {
    const auto plan_for = [&](double b) { return sched::run_planner(kind, p, b, obj); };
    burst_fit_result lowered = burst_fit(plan_for, layer_seconds, p.stream_fps(), budget, options, phases);
    burst_fit_result capped = cap_rates(p, plan_for(budget), layer_seconds, budget, options, phases);
    if (!capped.fits) return lowered;
    if (!lowered.fits) return capped;
    return sched::compare(capped.plan, lowered.plan, obj) > 0 ? capped : lowered;
}

}  // namespace stemshare::experiment
