#pragma once
/// \file
/// `experiment::run_sweep`: the Mainstream experiment's sweep (docs/experiment.md, "The demo").
/// For N = 1..(number of apps), the first N apps are planned under every policy on one compute
/// budget, each plan runs on the stream (replayed on the emulated box, or on the wall clock), and
/// each app's measured event F1 is set next to what the scheduler's model predicted for it.
///
/// Everything comes in already loaded and measured: the apps with their offline predictions
/// (`predict_stream`), the stream, the latency table of the model every app runs, the budget and
/// the policies. The sweep prints nothing and writes no file; it returns one row per (N, policy),
/// in that order, and hands each row to `sweep_input::on_row` as soon as it is measured.
///
/// The box: the budget B is in core-seconds per second of stream, and the box is an emulated
/// device with B of one core, so every layer takes its measured time / B (replay) or a frame
/// really runs here and the box then stays busy for the measured time / B (real time). A plan
/// whose cost is at most B keeps up on average.

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/burst_fit.hpp>
#include <stemshare/experiment/event_eval.hpp>
#include <stemshare/experiment/predictions.hpp>
#include <stemshare/experiment/quality_estimate.hpp>
#include <stemshare/experiment/realtime.hpp>
#include <stemshare/experiment/replay.hpp>
#include <stemshare/experiment/stream.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/runtime/frame_wait.hpp>
#include <stemshare/sched/app.hpp>
#include <stemshare/sched/cost_model.hpp>
#include <stemshare/sched/plan.hpp>
#include <stemshare/sched/planner.hpp>
#include <stemshare/sched/problem.hpp>
#include <stemshare/sched/quality_model.hpp>

namespace stemshare::experiment {

/// One policy of the sweep: which candidates a plan may use and which planner picks among them.
struct sweep_policy {
    std::string name;
    sched::mode mode = sched::mode::mainstream;
    sched::planner_kind planner = sched::planner_kind::mainstream_greedy;
    /// Plans with `burst_plan` around `planner`: a plan whose frames all fit the gaps between them.
    bool burst_fit = false;
};

/// The experiment's five policies: Mainstream under both greedy planners, the original greedy
/// fitted to per-frame bursts (`burst_fit`, stemshare's), and the No-sharing and Max-sharing
/// baselines with each app's fps chosen by `exact`, the best any planner could do for them.
[[nodiscard]] inline std::vector<sweep_policy> standard_policies() {
    return {{"mainstream", sched::mode::mainstream, sched::planner_kind::mainstream_greedy},
            {"mainstream+greedy", sched::mode::mainstream, sched::planner_kind::greedy},
            {"mainstream+burst", sched::mode::mainstream, sched::planner_kind::mainstream_greedy, true},
            {"nosharing", sched::mode::nosharing, sched::planner_kind::exact},
            {"maxsharing", sched::mode::maxsharing, sched::planner_kind::exact}};
}

/// One app of the sweep, measured on the stream it runs on.
struct sweep_app {
    std::string name;
    /// Every candidate's decision on every stream frame with its validation rates, Mainstream's a
    /// (`true_positive_rate`) and b (`false_positive_rate`): what the planners are fed as the
    /// app's curve. `predict_stream` makes them from M-Packages.
    app_predictions predictions;
    /// The app's events on the stream, in frame order.
    std::vector<frame_interval> events;
    /// Measured event frequency e (`evaluate_events`).
    double event_frequency = 0.0;
    /// Estimated frame correlation c (`estimate_correlation`).
    correlation_estimate correlation;
    /// The real-time runner only: the bound whole model of the candidate with `num_frozen`
    /// frozen layers.
    std::function<graph(std::size_t num_frozen)> candidate_model;
};

/// Measures an app on `stream`: its events are the stream's events of `targets`, e is measured
/// from them and c estimated from the app's predictions inside them.
[[nodiscard]] inline sweep_app measure_app(std::string name, app_predictions predictions,
                                           std::span<const std::int32_t> targets,
                                           const frame_stream& stream) {
    sweep_app app;
    app.name = std::move(name);
    app.events = stream.events_for(targets);
    const std::vector<frame_decision> none(static_cast<std::size_t>(stream.frame_count()),
                                           frame_decision::negative);
    app.event_frequency = evaluate_events(none, app.events, stream.event_frames()).event_frequency;
    app.correlation = estimate_correlation(predictions, app.events);
    app.predictions = std::move(predictions);
    return app;
}

/// How each plan of the sweep is measured.
enum class sweep_runner : std::uint8_t {
    replay,    ///< `experiment::replay` over the whole stream, decisions from the predictions
    realtime,  ///< `experiment::run_realtime` on the first `sweep_input::realtime_frames` frames
};

/// Name used in reports: "replay" or "real-time".
[[nodiscard]] constexpr std::string_view to_string(sweep_runner r) noexcept {
    return r == sweep_runner::realtime ? "real-time" : "replay";
}

/// One app in one row of the sweep.
struct sweep_app_result {
    std::string app;
    /// The plan's branch point and frame rate for the app.
    int num_frozen = 0;
    double fps = 0.0;
    /// Frames the app processed per second of (measured) stream.
    double achieved_fps = 0.0;
    /// Event F1 measured on the stream.
    double f1_measured = 0.0;
    /// Event F1 the planning model predicted (what the planner maximised).
    double f1_predicted = 0.0;
    /// What each quality model predicts for the same (branch point, fps) and rates: the original's
    /// reading (`sched::quality_model::mainstream`) and the `L f / 1000` samples per event an app
    /// really takes (`sampled`).
    double f1_predicted_mainstream = 0.0;
    double f1_predicted_sampled = 0.0;
    /// The chosen candidate's validation rates.
    double true_positive_rate = 0.0;
    double false_positive_rate = 0.0;
};

/// One (number of apps, policy) configuration: the plan and what it measured.
struct sweep_row {
    /// The first `app_count` apps of the input were planned.
    std::size_t app_count = 0;
    std::string policy;
    sched::planner_kind planner = sched::planner_kind::mainstream_greedy;
    sweep_runner runner = sweep_runner::replay;
    sched::plan plan;
    /// The app-quality model the row was planned with.
    sched::quality_model quality_model = sched::quality_model::mainstream;
    /// Means over the row's apps: F1 scored on the stream by the row's runner (replay: the
    /// table's clock; real-time: the executor on the wall clock), then each model's prediction.
    double mean_f1_measured = 0.0;
    double mean_f1_predicted = 0.0;
    double mean_f1_predicted_mainstream = 0.0;
    double mean_f1_predicted_sampled = 0.0;
    /// Seconds the box was busy per second of stream, and frames some app wanted that arrived
    /// while the box was busy.
    double box_load = 0.0;
    std::int64_t dropped_frames = 0;
    std::vector<sweep_app_result> per_app;
    /// Wall-clock seconds spent in the real-time runner (0 for replay).
    double realtime_seconds = 0.0;
    /// Policies with `burst_fit` only (`burst_plan`): the budget the plan was made for, the rate
    /// every app was capped at (0: none), and whether its frames fit (false: neither way found a
    /// plan that fits, and the row runs the last plan tried).
    double burst_fit_budget = 0.0;
    double burst_rate_cap = 0.0;
    bool burst_fits = false;
};

/// What the sweep runs on.
struct sweep_input {
    /// In the order they are added: the rows of N apps plan apps[0..N).
    std::vector<sweep_app> apps;
    /// The stream every app's predictions and events refer to; must outlive the sweep.
    const frame_stream* stream = nullptr;
    /// Per-layer latencies of the model every app runs; the layer medians are the cost model.
    profiling::latency_table latencies;
    /// Seconds the runtime spends per step it runs for a frame beyond the table's layers (a
    /// step's call, boundary reorders, bookkeeping; `calibrate_frames`), charged in replays and
    /// burst fitting (`frame_seconds`); 0: none, the table's layers alone.
    double step_seconds = 0.0;
    /// Compute budget in core-seconds per second of stream; also the emulated box's share of a core.
    double budget = 0.0;
    std::vector<sweep_policy> policies = standard_policies();
    sweep_runner runner = sweep_runner::replay;
    /// The app-quality model every policy plans with (`mainstream`: the original model bit for bit).
    sched::quality_model quality_model = sched::quality_model::mainstream;
    /// Staggers the branch-point-0 apps at one rate (`stagger_phases`) in replay and live runs;
    /// false keeps the original frame-selection rule.
    bool stagger = false;
    /// The real-time runner only: how the stream thread waits for a frame (runtime/frame_wait.hpp).
    runtime::frame_wait wait{};
    /// How policies with `burst_fit` fit their plans (`second_copy_seconds`, when empty, from
    /// `latencies`).
    burst_fit_options burst{};
    /// The real-time runner only: how many frames from the start of the stream it plays.
    std::int64_t realtime_frames = 0;
    /// Called with each row as soon as it is measured (e.g. to print the table as it grows).
    std::function<void(const sweep_row&)> on_row;
};

/// The layer medians of `table`, in seconds: the cost model's per-layer latencies.
[[nodiscard]] inline std::vector<double> layer_seconds(const profiling::latency_table& table) {
    std::vector<double> out;
    for (const auto& l : table.layers) out.push_back(l.time.median_us * 1e-6);
    return out;
}

/// The second-copy medians of `table`, in seconds (`profiling::profile_options::second_copy`):
/// what each further copy of a layer in one frame costs. Empty when the table has none.
[[nodiscard]] inline std::vector<double> second_copy_seconds(const profiling::latency_table& table) {
    std::vector<double> out;
    if (!table.has_second_copy()) return out;
    for (const auto& l : table.layers) out.push_back(l.second_copy->median_us * 1e-6);
    return out;
}

/// `seconds` / `share`: the layers on a box of `share` of one core.
[[nodiscard]] inline std::vector<double> on_box(const std::vector<double>& seconds, double share) {
    std::vector<double> out;
    for (double l : seconds) out.push_back(l / share);
    return out;
}

/// A frame count near `want` where an event begins, so no event of any app is cut by the end
/// (the whole stream when no event begins at or after `want`).
[[nodiscard]] inline std::int64_t cut_at_event_start(const frame_stream& stream, std::int64_t want) {
    for (const auto& seg : stream.segments())
        if (seg.is_event && seg.frames.begin >= want) return seg.frames.begin;
    return stream.frame_count();
}

namespace detail {

/// Measured F1 per app and what it came from, for one configuration.
struct sweep_outcome {
    std::vector<double> f1;
    std::vector<double> achieved_fps;
    std::int64_t dropped = 0;
    double load = 0.0;
};

/// Event F1 of each app's decisions over the first `frames` frames (events past them ignored).
[[nodiscard]] inline sweep_outcome score(const std::vector<std::vector<frame_decision>>& decisions,
                                         const std::vector<sweep_app>& apps, std::int64_t frames,
                                         std::int64_t window) {
    sweep_outcome o;
    for (std::size_t a = 0; a < decisions.size(); ++a) {
        std::vector<frame_interval> events;
        for (const auto& e : apps[a].events)
            if (e.end <= frames) events.push_back(e);
        const std::span<const frame_decision> d(decisions[a].data(), static_cast<std::size_t>(frames));
        o.f1.push_back(evaluate_events(d, events, window).f1);
    }
    return o;
}

/// The decisions a replay implies: each processed frame gets the chosen candidate's prediction.
[[nodiscard]] inline std::vector<std::vector<frame_decision>> decisions_of(
    const replay_result& r, const std::vector<const candidate_decisions*>& chosen) {
    std::vector<std::vector<frame_decision>> out(chosen.size());
    for (std::size_t a = 0; a < chosen.size(); ++a) {
        out[a].resize(r.processed[a].size(), frame_decision::not_processed);
        for (std::size_t j = 0; j < out[a].size(); ++j)
            if (r.processed[a][j])
                out[a][j] = chosen[a]->positive[j] ? frame_decision::positive : frame_decision::negative;
    }
    return out;
}

/// The planners' view of the first `n` apps.
[[nodiscard]] inline std::vector<sched::app_spec> specs_of(const sweep_input& in, std::size_t n) {
    std::vector<sched::app_spec> specs;
    for (std::size_t a = 0; a < n; ++a) {
        const sweep_app& app = in.apps[a];
        sched::app_spec s;
        s.name = app.name;
        s.event_length_ms = in.stream->options().event_ms;
        s.event_frequency = app.event_frequency;
        s.correlation = app.correlation.correlation;
        for (const auto& c : app.predictions.candidates)
            s.curve.push_back({static_cast<int>(c.num_frozen), c.true_positive_rate, c.false_positive_rate});
        specs.push_back(std::move(s));
    }
    return specs;
}

/// Sets the plan's phases when the sweep staggers (`sweep_input::stagger`).
inline void apply_stagger(const sweep_input& in, std::vector<replay_app>& plan_apps) {
    if (!in.stagger) return;
    const std::vector<std::uint64_t> phases = stagger_phases(plan_apps, in.stream->fps());
    for (std::size_t a = 0; a < plan_apps.size(); ++a) plan_apps[a].phase = phases[a];
}

/// Each app's phase in `pl` as the sweep deploys it (all 0 unless it staggers).
[[nodiscard]] inline std::vector<std::uint64_t> phases_of(const sweep_input& in, const sched::plan& pl) {
    std::vector<replay_app> plan_apps;
    for (const auto& a : pl.apps) plan_apps.push_back({static_cast<std::size_t>(a.num_frozen), a.fps});
    apply_stagger(in, plan_apps);
    std::vector<std::uint64_t> out;
    for (const auto& a : plan_apps) out.push_back(a.phase);
    return out;
}

/// The plan's apps as the real-time runner deploys them.
[[nodiscard]] inline std::vector<realtime_app> realtime_apps_of(const sweep_input& in,
                                                                const sched::plan& pl) {
    const std::vector<std::uint64_t> phases = phases_of(in, pl);
    std::vector<realtime_app> out;
    for (std::size_t a = 0; a < pl.apps.size(); ++a) {
        const auto k = static_cast<std::size_t>(pl.apps[a].num_frozen);
        out.push_back({in.apps[a].name, in.apps[a].candidate_model(k), k, pl.apps[a].fps, phases[a]});
    }
    return out;
}

/// Throws `stemshare::error` naming the field unless `in` can be swept.
inline void validate(const sweep_input& in) {
    const std::string who = "experiment::run_sweep";
    if (in.stream == nullptr) throw error(who + ": stream", "no stream given");
    if (in.apps.empty()) throw error(who + ": apps", "no app given");
    if (in.policies.empty()) throw error(who + ": policies", "no policy given");
    if (in.latencies.layers.empty()) throw error(who + ": latencies", "the latency table has no layer");
    if (!(in.budget > 0.0) || !std::isfinite(in.budget))
        throw error(who + ": budget",
                    "must be a positive number of core-seconds per second, got " + std::to_string(in.budget));
    if (!(in.step_seconds >= 0.0) || !std::isfinite(in.step_seconds))
        throw error(who + ": step_seconds",
                    "must be 0 or positive and finite, got " + std::to_string(in.step_seconds));
    const std::int64_t frames = in.stream->frame_count();
    for (const sweep_app& app : in.apps) {
        const std::string where = who + ": app '" + app.name + "'";
        if (app.predictions.candidates.empty()) throw error(where, "has no candidate");
        for (const auto& c : app.predictions.candidates)
            if (static_cast<std::int64_t>(c.positive.size()) != frames)
                throw error(where, "candidate num_frozen " + std::to_string(c.num_frozen) + " has " +
                                       std::to_string(c.positive.size()) + " predictions; the stream has " +
                                       std::to_string(frames) + " frames");
        for (const auto& e : app.events)
            if (e.begin < 0 || e.end > frames || e.begin >= e.end)
                throw error(where, "event [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                                       ") is not inside the stream's " + std::to_string(frames) + " frames");
        if (in.runner == sweep_runner::realtime && !app.candidate_model)
            throw error(where, "has no candidate_model; the real-time runner needs the models");
    }
    if (in.runner == sweep_runner::realtime && (in.realtime_frames <= 0 || in.realtime_frames > frames))
        throw error(who + ": realtime_frames", "must be in [1, " + std::to_string(frames) +
                                                   "] for the real-time runner, got " +
                                                   std::to_string(in.realtime_frames));
    // With every app planned the cheapest plan costs most; refusing here saves a sweep that
    // would stop halfway.
    const sched::cost_model costs(layer_seconds(in.latencies));
    const std::vector<sched::app_spec> specs = specs_of(in, in.apps.size());
    for (const sweep_policy& pol : in.policies) {
        const sched::problem problem(specs, costs, in.stream->fps(), pol.mode);
        const double cheapest = problem.cheapest_cost();
        if (cheapest > in.budget + sched::budget_tolerance)
            throw error(who + ": budget", std::to_string(in.budget) +
                                              " core-seconds per second is below the cheapest plan of " +
                                              std::to_string(in.apps.size()) + " apps under policy '" +
                                              pol.name + "' (cost " + std::to_string(cheapest) +
                                              ": every app at its largest branch point and lowest fps)");
    }
}

}  // namespace detail

/// Plans, runs and scores every (number of apps, policy) configuration; see the file comment.
/// Throws `stemshare::error` naming the field on bad input, and when the budget is below the
/// cheapest plan of all the apps under some policy.
[[nodiscard]] inline std::vector<sweep_row> run_sweep(const sweep_input& in) {
    detail::validate(in);
    const frame_stream& stream = *in.stream;
    const double stream_fps = stream.fps();
    const std::int64_t frames = stream.frame_count();
    const std::int64_t window = stream.event_frames();
    const std::vector<double> latency = layer_seconds(in.latencies);
    const std::vector<double> box_latency = on_box(latency, in.budget);
    const std::vector<double> box_second_copy = on_box(second_copy_seconds(in.latencies), in.budget);
    burst_fit_options burst = in.burst;
    if (burst.second_copy_seconds.empty()) burst.second_copy_seconds = second_copy_seconds(in.latencies);
    if (burst.step_seconds == 0.0) burst.step_seconds = in.step_seconds;
    const double box_step = in.step_seconds / in.budget;

    std::vector<sweep_row> rows;
    for (std::size_t n = 1; n <= in.apps.size(); ++n) {
        const std::vector<sched::app_spec> specs = detail::specs_of(in, n);
        for (const sweep_policy& pol : in.policies) {
            const sched::problem problem(specs, sched::cost_model(latency), stream_fps, pol.mode,
                                         in.quality_model);
            sweep_row row;
            row.app_count = n;
            row.policy = pol.name;
            row.planner = pol.planner;
            row.runner = in.runner;
            if (pol.burst_fit) {
                const burst_fit_result fit = burst_plan(
                    problem, pol.planner, in.budget, latency, burst,
                    [&](const sched::plan& candidate) { return detail::phases_of(in, candidate); });
                row.plan = fit.plan;
                row.burst_fit_budget = fit.fitted_budget;
                row.burst_rate_cap = fit.rate_cap;
                row.burst_fits = fit.fits;
            } else {
                row.plan = sched::run_planner(pol.planner, problem, in.budget);
            }
            const sched::plan& pl = row.plan;
            std::vector<replay_app> plan_apps;
            std::vector<const candidate_decisions*> chosen;
            for (std::size_t a = 0; a < n; ++a) {
                plan_apps.push_back({static_cast<std::size_t>(pl.apps[a].num_frozen), pl.apps[a].fps});
                chosen.push_back(&in.apps[a].predictions.at(static_cast<std::size_t>(pl.apps[a].num_frozen)));
            }
            detail::apply_stagger(in, plan_apps);
            detail::sweep_outcome m;
            if (in.runner == sweep_runner::realtime) {
                const auto started = std::chrono::steady_clock::now();
                const auto r = run_realtime(stream.frames(), stream_fps, detail::realtime_apps_of(in, pl),
                                            in.realtime_frames, {.box_share = in.budget, .wait = in.wait});
                row.realtime_seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
                m = detail::score(r.decisions, in.apps, in.realtime_frames, window);
                m.achieved_fps = r.achieved_fps;
                m.dropped = r.dropped_frames;
                m.load = r.measured_load;
            } else {
                const auto r = replay(plan_apps, box_latency, stream_fps, frames, box_second_copy, box_step);
                m = detail::score(detail::decisions_of(r, chosen), in.apps, frames, window);
                m.achieved_fps = r.achieved_fps;
                m.dropped = r.dropped_frames;
                m.load = r.measured_load;
            }
            // Every model's reading of the same plan, from the same smoothed rates the planner saw.
            const sched::problem as_mainstream(specs, sched::cost_model(latency), stream_fps, pol.mode,
                                               sched::quality_model::mainstream);
            const sched::problem as_sampled(specs, sched::cost_model(latency), stream_fps, pol.mode,
                                            sched::quality_model::sampled);
            double sum_measured = 0.0;
            double sum_predicted = 0.0;
            double sum_mainstream = 0.0;
            double sum_sampled = 0.0;
            for (std::size_t a = 0; a < n; ++a) {
                const candidate_decisions& c = *chosen[a];
                const double mainstream = as_mainstream.quality(a, pl.apps[a].num_frozen, pl.apps[a].fps).f1;
                const double sampled = as_sampled.quality(a, pl.apps[a].num_frozen, pl.apps[a].fps).f1;
                sum_measured += m.f1[a];
                sum_predicted += pl.apps[a].quality.f1;
                sum_mainstream += mainstream;
                sum_sampled += sampled;
                row.per_app.push_back({specs[a].name, pl.apps[a].num_frozen, pl.apps[a].fps,
                                       m.achieved_fps[a], m.f1[a], pl.apps[a].quality.f1, mainstream, sampled,
                                       c.true_positive_rate, c.false_positive_rate});
            }
            const double k = static_cast<double>(n);
            row.quality_model = in.quality_model;
            row.mean_f1_measured = sum_measured / k;
            row.mean_f1_predicted = sum_predicted / k;
            row.mean_f1_predicted_mainstream = sum_mainstream / k;
            row.mean_f1_predicted_sampled = sum_sampled / k;
            row.box_load = m.load;
            row.dropped_frames = m.dropped;
            if (in.on_row) in.on_row(row);
            rows.push_back(std::move(row));
        }
    }
    return rows;
}

/// How far the quality models are from the measurement over a sweep's rows.
struct prediction_gap {
    std::size_t rows = 0;
    /// Mean |predicted - measured| of the rows' mean F1 under the planning model, and the mean
    /// signed difference.
    double mean_abs_gap = 0.0;
    double mean_bias = 0.0;
    /// Mean |predicted - measured| of each model's reading of the same plans.
    double mean_abs_gap_mainstream = 0.0;
    double mean_abs_gap_sampled = 0.0;
};

/// The prediction gap over `rows` (all zero when there is none).
[[nodiscard]] inline prediction_gap measure_prediction_gap(std::span<const sweep_row> rows) {
    prediction_gap g;
    g.rows = rows.size();
    if (rows.empty()) return g;
    for (const sweep_row& r : rows) {
        const double m = r.mean_f1_measured;
        g.mean_abs_gap += std::abs(r.mean_f1_predicted - m);
        g.mean_abs_gap_mainstream += std::abs(r.mean_f1_predicted_mainstream - m);
        g.mean_abs_gap_sampled += std::abs(r.mean_f1_predicted_sampled - m);
        g.mean_bias += r.mean_f1_predicted - m;
    }
    const double count = static_cast<double>(rows.size());
    g.mean_abs_gap /= count;
    g.mean_bias /= count;
    g.mean_abs_gap_mainstream /= count;
    g.mean_abs_gap_sampled /= count;
    return g;
}

}  // namespace stemshare::experiment
