#pragma once
// What `stemshare demo` shows and writes: the set-up lines, the table (a row at a time, as the
// sweep measures it), the real-time check, the prediction gap, OUT/results.json and the plot
// (OUT/f1.dat, OUT/f1.gp and, with gnuplot, OUT/f1.png). The numbers all come from the sweep
// (stemshare/experiment/sweep.hpp); nothing here measures anything.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/experiment/realtime_check.hpp>
#include <stemshare/experiment/sweep.hpp>
#include <stemshare/runtime/frame_wait.hpp>
#include <stemshare/sched/planner.hpp>
#include <stemshare/sched/quality_model.hpp>

#include <fashion/app_tasks.hpp>

#include "frame_costs.hpp"
#include "write_file.hpp"

namespace stemshare::tools::demo_report {

/// Wall-clock seconds of the demo's phases.
struct timings {
    double predictions = 0.0;
    double sweep = 0.0;
    double real_time = 0.0;
    double total = 0.0;
};

inline std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

/// Seconds per frame of the whole model: the sum of the layer medians.
inline double model_seconds(const experiment::sweep_input& in) {
    double whole = 0.0;
    for (double l : experiment::layer_seconds(in.latencies)) whole += l;
    return whole;
}

/// The stream, the model's latency, the budget and every app's e and c.
inline void print_setup(const experiment::sweep_input& in, bool budget_from_flag) {
    const experiment::stream_options& s = in.stream->options();
    const double whole = model_seconds(in);
    std::printf(
        "stemshare demo: %zu apps, stream %.0f fps x %.0f s (%lld frames, events of %.0f ms = %lld frames)\n",
        in.apps.size(), s.fps, s.duration_s, static_cast<long long>(in.stream->frame_count()), s.event_ms,
        static_cast<long long>(in.stream->event_frames()));
    std::printf("base model fashion_mobilenet: %.1f us per frame (sum of %zu layer medians, 1 thread, %s)\n",
                whole * 1e6, in.latencies.layers.size(), in.latencies.isa.c_str());
    std::printf("budget %.5f core-seconds per second of stream = %.2f full models at %.0f fps%s\n", in.budget,
                in.budget / (s.fps * whole), s.fps, budget_from_flag ? " (--budget)" : " (default)");
    std::printf("the box has %.3f%% of one core: every layer takes its measured time / %.5f\n",
                in.budget * 100.0, in.budget);
    std::printf(
        "per app: event frequency e, frame correlation c (both from the calibration stream, not "
        "scored); events on the scored stream:\n");
    for (const auto& a : in.apps)
        std::printf("  %-12s e %.3f  c %.3f  (%zu events)\n", a.name.c_str(), a.event_frequency,
                    a.correlation.correlation, a.events.size());
}

inline void print_table_header(experiment::sweep_runner runner, sched::quality_model model) {
    std::printf(
        "\nplans by quality model '%s'; F1 %s: scored on the stream by %s; F1 ms, F1 samp: the "
        "mainstream and sampled models' predictions of the same plan\n",
        std::string(sched::to_string(model)).c_str(),
        runner == experiment::sweep_runner::replay ? "replay" : "live",
        runner == experiment::sweep_runner::replay
            ? "replay (the latency table's clock: a prediction of the live run)"
            : "the live executor on the wall clock");
    std::printf("%-4s %-18s %-9s %-9s %-9s %-7s %-6s %s\n", "apps", "policy",
                runner == experiment::sweep_runner::replay ? "F1 replay" : "F1 live", "F1 ms", "F1 samp",
                "cost/B", "drops", "fps per app (k@fps)");
}

/// One line of the table; flushed, so a long sweep shows its progress.
inline void print_row(const experiment::sweep_row& row, double budget) {
    std::string fps_text;
    for (const auto& a : row.per_app) {
        if (!fps_text.empty()) fps_text += ' ';
        fps_text += std::to_string(a.num_frozen);
        fps_text += '@';
        fps_text += a.fps < 1.0 ? fixed(a.fps, 1) : fixed(a.fps, 0);
    }
    std::printf("%-4zu %-18s %-9s %-9s %-9s %-7s %-6lld %s\n", row.app_count, row.policy.c_str(),
                fixed(row.mean_f1_measured, 3).c_str(), fixed(row.mean_f1_predicted_mainstream, 3).c_str(),
                fixed(row.mean_f1_predicted_sampled, 3).c_str(), fixed(row.plan.cost / budget, 2).c_str(),
                static_cast<long long>(row.dropped_frames), fps_text.c_str());
    std::fflush(stdout);
}

/// The headline: each policy live with every app, beside its replay (the prediction).
inline void print_live(const std::vector<experiment::realtime_comparison>& live) {
    if (live.empty()) return;
    const auto& first = live.front();
    std::printf(
        "\nLIVE (the executor on the wall clock, %zu apps, first %.1f s of the stream, frame wait %s) "
        "vs replay of the same frames (prediction):\n",
        first.app_count, first.seconds, std::string(runtime::to_string(first.wait)).c_str());
    std::printf("%-18s %-8s %-8s %-9s %-9s %-11s %-11s %-12s %-10s %-9s %s\n", "policy", "F1 live", "F1 repl",
                "fps live", "fps repl", "min fps/pl", "drops l/r", "frame us", "table us", "ex/table",
                "warm us");
    for (const auto& c : live)
        std::printf(
            "%-18s %-8s %-8s %-9s %-9s %-11s %-11s %-12s %-10s %-9s %s\n", c.policy.c_str(),
            fixed(c.f1_realtime, 3).c_str(), fixed(c.f1_replay, 3).c_str(), fixed(c.fps_realtime, 2).c_str(),
            fixed(c.fps_replay, 2).c_str(), fixed(c.min_fps_ratio, 2).c_str(),
            (std::to_string(c.drops_realtime) + "/" + std::to_string(c.drops_replay)).c_str(),
            (fixed(c.executor_frame_us, 1) + "/" + fixed(c.executor_frame_median_us, 1)).c_str(),
            fixed(c.table_live_frames_us, 1).c_str(),
            fixed(c.table_live_frames_us > 0.0 ? c.executor_frame_us / c.table_live_frames_us : 0.0, 2)
                .c_str(),
            fixed(c.warm_frame_us, 1).c_str());
    std::printf(
        "(frame us: mean/median executor time of a processed frame; table us: what the frame cost model "
        "adds up to for the same frames; ex/table: their means' ratio; min fps/pl: smallest live/planned "
        "fps over the apps)\n");
    std::printf(
        "ex/table per %.0f s of stream (the box's speed drifts), and ex/tracked: executor over the table at "
        "the speed tracked from the windows before each frame, as `stemshare run` charges it (the plan "
        "stays the start's here; run would re-plan at each change):\n",
        first.window_seconds);
    for (const auto& c : live) {
        std::string windows;
        for (double r : c.window_executor_over_table) windows += " " + fixed(r, 2);
        const double tracked =
            c.table_tracked_live_frames_us > 0.0 ? c.executor_frame_us / c.table_tracked_live_frames_us : 0.0;
        std::printf("  %-18s%s; ex/tracked %s after %zu speed change(s)\n", c.policy.c_str(), windows.c_str(),
                    fixed(tracked, 2).c_str(), c.speed_changes);
    }
}

inline void print_prediction_gap(const experiment::prediction_gap& g, sched::quality_model planned_with) {
    std::printf(
        "\nmean |predicted - replayed| F1 over %zu configurations: mainstream model %.3f, sampled model %.3f "
        "(plans by '%s': its bias %+.3f)\n",
        g.rows, g.mean_abs_gap_mainstream, g.mean_abs_gap_sampled,
        std::string(sched::to_string(planned_with)).c_str(), g.mean_bias);
}

/// A live run's frames as rows [frame, idle ms, executor us, table us, apps, steps]: compact,
/// since a minute of stream is about 900 of them per policy.
[[nodiscard]] inline nlohmann::ordered_json live_frames_json(
    const std::vector<experiment::live_frame_cost>& frames) {
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const auto& f : frames)
        rows.push_back({f.frame, f.idle_seconds * 1e3, f.executor_seconds * 1e6, f.table_seconds * 1e6,
                        f.apps, f.steps, f.tracked_speed});
    return rows;
}

/// OUT/results.json: the stream, the budget, the latencies, the apps, every row, the real-time
/// check (null when none ran), the prediction gap and the timings. `tasks[a]` is app a's task.
[[nodiscard]] inline nlohmann::ordered_json results_json(
    const experiment::sweep_input& in, const std::vector<fashion::app_task>& tasks,
    const std::vector<experiment::sweep_row>& rows, const std::vector<experiment::realtime_comparison>& live,
    const timings& seconds, const std::optional<experiment::frame_calibration>& frames_fit) {
    using nlohmann::ordered_json;
    const experiment::stream_options& s = in.stream->options();
    const double whole = model_seconds(in);
    ordered_json rows_json = ordered_json::array();
    for (const auto& r : rows) {
        ordered_json per_app = ordered_json::array();
        for (const auto& a : r.per_app)
            per_app.push_back({{"app", a.app},
                               {"num_frozen", a.num_frozen},
                               {"fps", a.fps},
                               {"achieved_fps", a.achieved_fps},
                               {"f1_scored", a.f1_measured},
                               {"f1_predicted", a.f1_predicted},
                               {"f1_predicted_mainstream", a.f1_predicted_mainstream},
                               {"f1_predicted_sampled", a.f1_predicted_sampled},
                               {"tpr", a.true_positive_rate},
                               {"fpr", a.false_positive_rate}});
        rows_json.push_back({{"apps", r.app_count},
                             {"policy", r.policy},
                             {"planner", std::string(sched::to_string(r.planner))},
                             {"runner", std::string(experiment::to_string(r.runner))},
                             {"quality_model", std::string(sched::to_string(r.quality_model))},
                             {"mean_f1_scored", r.mean_f1_measured},
                             {"mean_f1_predicted", r.mean_f1_predicted},
                             {"mean_f1_predicted_mainstream", r.mean_f1_predicted_mainstream},
                             {"mean_f1_predicted_sampled", r.mean_f1_predicted_sampled},
                             {"plan_cost", r.plan.cost},
                             {"feasible", r.plan.feasible()},
                             {"box_busy_seconds_per_stream_second", r.box_load},
                             {"dropped_frames", r.dropped_frames},
                             {"per_app", per_app}});
        if (r.burst_fit_budget > 0.0) {
            rows_json.back()["burst_fit_budget"] = r.burst_fit_budget;
            rows_json.back()["burst_rate_cap"] = r.burst_rate_cap;
            rows_json.back()["burst_fits"] = r.burst_fits;
        }
    }
    ordered_json live_json = ordered_json::array();
    for (const auto& c : live)
        live_json.push_back(
            {{"apps", c.app_count},
             {"policy", c.policy},
             {"seconds", c.seconds},
             {"frame_wait", std::string(runtime::to_string(c.wait))},
             {"mean_f1_live", c.f1_realtime},
             {"mean_f1_replay_prediction", c.f1_replay},
             {"mean_fps_live", c.fps_realtime},
             {"mean_fps_replay_prediction", c.fps_replay},
             {"min_live_over_planned_fps", c.min_fps_ratio},
             {"drops_live", c.drops_realtime},
             {"drops_replay_prediction", c.drops_replay},
             {"box_busy_seconds_per_stream_second_live", c.load_realtime},
             {"box_busy_seconds_per_stream_second_replay", c.load_replay},
             {"executor_frame_us_mean", c.executor_frame_us},
             {"executor_frame_us_median", c.executor_frame_median_us},
             {"warm_frame_us", c.warm_frame_us},
             {"table_frame_us", c.table_frame_us},
             {"table_live_frames_us", c.table_live_frames_us},
             {"median_executor_over_table", c.median_executor_over_table},
             {"window_seconds", c.window_seconds},
             {"window_executor_over_table", c.window_executor_over_table},
             {"table_tracked_live_frames_us", c.table_tracked_live_frames_us},
             {"tracked_speed_changes", c.speed_changes},
             {"frames_columns",
              {"frame", "idle_ms", "executor_us", "table_us", "apps", "steps", "tracked_speed"}},
             {"frames", live_frames_json(c.frames)}});
    ordered_json apps_json = ordered_json::array();
    for (std::size_t a = 0; a < in.apps.size(); ++a) {
        const experiment::sweep_app& app = in.apps[a];
        apps_json.push_back({{"app", app.name},
                             {"targets", tasks[a].targets},
                             {"events", app.events.size()},
                             {"event_frequency_calibration", app.event_frequency},
                             {"correlation_calibration", app.correlation.correlation},
                             {"hit_rate", app.correlation.hit_rate},
                             {"miss_after_miss", app.correlation.miss_after_miss}});
    }
    const experiment::prediction_gap gap = experiment::measure_prediction_gap(rows);
    nlohmann::ordered_json out = {
        {"stream",
         {{"fps", s.fps},
          {"duration_s", s.duration_s},
          {"frames", in.stream->frame_count()},
          {"event_length_ms", s.event_ms},
          {"event_frames", in.stream->event_frames()},
          {"seed", s.seed}}},
        {"budget", in.budget},
        {"budget_in_full_models_at_stream_fps", in.budget / (s.fps * whole)},
        {"model_seconds_per_frame", whole},
        {"layer_latencies", experiment::layer_seconds(in.latencies)},
        {"isa", in.latencies.isa},
        {"apps", apps_json},
        {"results", rows_json},
        {"quality_model", std::string(sched::to_string(rows.empty() ? sched::quality_model::mainstream
                                                                    : rows.front().quality_model))},
        {"live", live_json},
        {"mean_abs_gap_planning_model", gap.mean_abs_gap},
        {"mean_bias_planning_model", gap.mean_bias},
        {"mean_abs_gap_mainstream_model", gap.mean_abs_gap_mainstream},
        {"mean_abs_gap_sampled_model", gap.mean_abs_gap_sampled},
        {"seconds",
         {{"predictions", seconds.predictions},
          {"sweep", seconds.sweep},
          {"real_time", seconds.real_time},
          {"total", seconds.total}}}};
    if (frames_fit) out["frame_calibration"] = frame_calibration_json(frames_fit);
    return out;
}

/// Writes OUT/results.json and says so.
inline void write_results(const std::filesystem::path& out, const nlohmann::ordered_json& results) {
    write_file((out / "results.json").string(), results.dump(2) + "\n");
    std::printf("wrote %s\n", (out / "results.json").string().c_str());
}

/// OUT/f1.dat (measured mean F1 per number of apps, one column per policy), OUT/f1.gp and, when
/// gnuplot is installed, OUT/f1.png; without gnuplot it says so and leaves the data.
inline void plot(const std::filesystem::path& out, const std::vector<experiment::sweep_policy>& policies,
                 std::size_t max_apps, const std::vector<experiment::sweep_row>& rows) {
    {
        std::ostringstream dat;
        dat << "# apps";
        for (const auto& p : policies) dat << ' ' << p.name;
        dat << '\n';
        for (std::size_t n = 1; n <= max_apps; ++n) {
            dat << n;
            for (const auto& p : policies)
                for (const auto& r : rows)
                    if (r.app_count == n && r.policy == p.name) dat << ' ' << r.mean_f1_measured;
            dat << '\n';
        }
        write_file((out / "f1.dat").string(), dat.str());
    }
    std::ostringstream gp;
    gp << "set terminal pngcairo size 900,560\nset output '" << (out / "f1.png").string() << "'\n"
       << "set title 'Mean event F1 vs number of apps (replayed on the latency table)'\nset xlabel "
          "'apps'\nset ylabel 'mean event "
          "F1'\n"
       << "set yrange [0:1]\nset xtics 1\nset key bottom left\nset grid\nplot ";
    for (std::size_t i = 0; i < policies.size(); ++i)
        gp << (i ? ", " : "") << "'" << (out / "f1.dat").string() << "' using 1:" << i + 2
           << " with linespoints title '" << policies[i].name << "'";
    gp << '\n';
    write_file((out / "f1.gp").string(), gp.str());
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        std::printf(
            "gnuplot is not installed (Debian: apt-get install gnuplot-nox): no PNG; the data is in %s\n",
            (out / "f1.dat").string().c_str());
        return;
    }
    const std::string cmd = "gnuplot '" + (out / "f1.gp").string() + "'";
    if (std::system(cmd.c_str()) != 0)
        std::printf("gnuplot failed on %s: no PNG\n", (out / "f1.gp").string().c_str());
    else
        std::printf("wrote %s\n", (out / "f1.png").string().c_str());
}

inline void print_done(const timings& t) {
    std::printf("done in %.1f s (predictions %.1f s, sweep %.1f s, real time %.1f s)\n", t.total,
                t.predictions, t.sweep, t.real_time);
}

}  // namespace stemshare::tools::demo_report
