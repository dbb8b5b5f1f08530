#pragma once
// `stemshare demo`: the end-to-end Mainstream experiment (docs/experiment.md, "The demo"). Trains
// nothing unless asked: it loads the committed M-Packages, measures the base model's per-layer
// latencies, builds a stream with events, plans 1..N apps under Mainstream, No-sharing and
// Max-sharing on one compute budget, measures every plan's event F1 on the stream (replay, and
// real time for a check or on request), and prints, writes and plots measured vs predicted F1.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/app_tasks.hpp>
#include <stemshare/experiment/event_eval.hpp>
#include <stemshare/experiment/fashion_training.hpp>
#include <stemshare/experiment/predictions.hpp>
#include <stemshare/experiment/quality_estimate.hpp>
#include <stemshare/experiment/realtime.hpp>
#include <stemshare/experiment/replay.hpp>
#include <stemshare/experiment/stream.hpp>
#include <stemshare/io/idx.hpp>
#include <stemshare/io/mpackage.hpp>
#include <stemshare/profiling/profile.hpp>
#include <stemshare/sched.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>

#include "write_file.hpp"

namespace stemshare::tools {

namespace demo_detail {

struct options {
    std::string apps;
    double budget = 0.0;
    double stream_fps = 15.0;
    double event_length_ms = 1000.0;
    double duration_s = 600.0;
    bool retrain = false;
    std::string out = "out/demo";
    std::string models = "models";
    std::string data = std::string(io::fashion_mnist_default_dir);
    bool quick = false;
    bool real_time = false;
    double check_seconds = 60.0;
    std::uint64_t seed = 1;
};

using steady = std::chrono::steady_clock;

/// The default budget in full models at the stream rate. Every app's best frame rate on the
/// default stream is about 4 of 15 fps (precision falls above it), so No-sharing needs
/// 4 / 15 of a full model per app: 0.75 fits two apps and not three.
inline constexpr double default_budget_models = 0.75;

inline double since(steady::time_point t) {
    return std::chrono::duration<double>(steady::now() - t).count();
}

inline void note(const std::string& text) {
    std::fprintf(stderr, "demo: %s\n", text.c_str());
    std::fflush(stderr);
}

inline std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

struct policy {
    std::string name;
    sched::mode mode;
    sched::planner_kind planner;
};

/// Mainstream under both greedy planners; the baselines with each app's fps chosen by `exact`,
/// the best any planner could do for them.
inline std::vector<policy> policies() {
    return {{"mainstream", sched::mode::mainstream, sched::planner_kind::mainstream_greedy},
            {"mainstream+greedy", sched::mode::mainstream, sched::planner_kind::greedy},
            {"nosharing", sched::mode::nosharing, sched::planner_kind::exact},
            {"maxsharing", sched::mode::maxsharing, sched::planner_kind::exact}};
}

struct app_context {
    experiment::app_task task;
    io::mpackage package;
    std::vector<experiment::frame_interval> events;
    double event_frequency = 0.0;
    experiment::correlation_estimate correlation;
};

/// Measured F1 and everything it came from, for one configuration.
struct outcome {
    std::vector<double> f1;
    std::vector<double> achieved_fps;
    std::int64_t dropped = 0;
    double load = 0.0;
};

inline outcome score(const std::vector<std::vector<experiment::frame_decision>>& decisions,
                     const std::vector<app_context>& apps, std::int64_t frames, std::int64_t window) {
    outcome o;
    for (std::size_t a = 0; a < decisions.size(); ++a) {
        std::vector<experiment::frame_interval> events;
        for (const auto& e : apps[a].events)
            if (e.end <= frames) events.push_back(e);
        const std::span<const experiment::frame_decision> d(decisions[a].data(),
                                                            static_cast<std::size_t>(frames));
        o.f1.push_back(experiment::evaluate_events(d, events, window).f1);
    }
    return o;
}

inline std::vector<std::vector<experiment::frame_decision>> decisions_of(
    const experiment::replay_result& r, const std::vector<const experiment::candidate_decisions*>& chosen) {
    std::vector<std::vector<experiment::frame_decision>> out(chosen.size());
    for (std::size_t a = 0; a < chosen.size(); ++a) {
        out[a].resize(r.processed[a].size(), experiment::frame_decision::not_processed);
        for (std::size_t j = 0; j < out[a].size(); ++j)
            if (r.processed[a][j])
                out[a][j] = chosen[a]->positive[j] ? experiment::frame_decision::positive
                                                   : experiment::frame_decision::negative;
    }
    return out;
}

/// A frame count near `want` where an event begins, so no event of any app is cut by the end.
inline std::int64_t cut_at_event_start(const experiment::frame_stream& s, std::int64_t want) {
    for (const auto& seg : s.segments())
        if (seg.is_event && seg.frames.begin >= want) return seg.frames.begin;
    return s.frame_count();
}

inline void retrain(const options& o, const std::vector<experiment::app_task>& tasks,
                    const std::filesystem::path& models) {
    note("--retrain: training the base model and the apps from scratch (about 13 min on 2 cores)");
    const io::labelled_images train_split = io::load_fashion_mnist(io::dataset_split::train, o.data);
    experiment::base_training_report report;
    const graph base = experiment::train_base_model(train_split, {}, report);
    experiment::save_weights(base, models / "fashion_base.safetensors");
    experiment::app_training_options recipe;
    recipe.positives = 1500;  // the committed packages' recipe (docs/experiment.md)
    for (const auto& t : tasks)
        (void)experiment::train_app(base, t, train_split, recipe, models / "apps" / std::string(t.name));
}

inline void plot(const std::filesystem::path& out, const std::vector<std::string>& names,
                 std::size_t max_apps, const nlohmann::ordered_json& rows) {
    {
        std::ostringstream dat;
        dat << "# apps";
        for (const auto& n : names) dat << ' ' << n;
        dat << '\n';
        for (std::size_t n = 1; n <= max_apps; ++n) {
            dat << n;
            for (const auto& p : names)
                for (const auto& r : rows)
                    if (r["apps"] == n && r["policy"] == p) dat << ' ' << r["mean_f1_measured"].get<double>();
            dat << '\n';
        }
        write_file((out / "f1.dat").string(), dat.str());
    }
    std::ostringstream gp;
    gp << "set terminal pngcairo size 900,560\nset output '" << (out / "f1.png").string() << "'\n"
       << "set title 'Mean event F1 vs number of apps (measured)'\nset xlabel 'apps'\nset ylabel 'mean event "
          "F1'\n"
       << "set yrange [0:1]\nset xtics 1\nset key bottom left\nset grid\nplot ";
    for (std::size_t i = 0; i < names.size(); ++i)
        gp << (i ? ", " : "") << "'" << (out / "f1.dat").string() << "' using 1:" << i + 2
           << " with linespoints title '" << names[i] << "'";
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

inline void run(options o) {
    const auto t_start = steady::now();
    if (!(o.stream_fps >= 1.0 && o.stream_fps <= 120.0)) throw error("--stream-fps", "must be in [1, 120]");
    if (!(o.event_length_ms > 0.0)) throw error("--event-length-ms", "must be positive");
    if (o.budget < 0.0) throw error("--budget", "must be positive (0: derived from the measured latencies)");
    if (!(o.duration_s > 0.0)) throw error("--duration", "must be positive");
    if (!(o.check_seconds >= 0.0)) throw error("--check-seconds", "must be >= 0");
    if (o.quick) {
        o.duration_s = std::min(o.duration_s, 120.0);
        o.check_seconds = std::min(o.check_seconds, 8.0);
    }
    std::vector<experiment::app_task> tasks;
    if (o.apps.empty()) {
        tasks = experiment::fashion_apps();
        if (o.quick) tasks.resize(3);
    } else {
        std::stringstream in(o.apps);
        for (std::string name; std::getline(in, name, ',');)
            if (!name.empty()) {
                for (const auto& t : tasks)
                    if (t.name == name) throw error("--apps", "names '" + name + "' twice");
                tasks.push_back(experiment::find_app(name));
            }
        if (tasks.empty()) throw error("--apps", "names no app");
    }
    const std::filesystem::path out(o.out);
    std::filesystem::create_directories(out);
    std::filesystem::path models(o.models);
    if (o.retrain) {
        models = out / "models";
        retrain(o, tasks, models);
    }

    // M-Packages.
    std::vector<app_context> apps;
    for (const auto& t : tasks) {
        const auto folder = models / "apps" / std::string(t.name);
        if (!std::filesystem::exists(folder / "manifest.json"))
            throw error(
                "app '" + std::string(t.name) + "'",
                "no M-Package in " + folder.string() + " (give --models DIR, or --retrain to train them)");
        apps.push_back({t, io::mpackage::read(folder), {}, 0.0, {}});
    }
    const auto architecture = [] { return experiment::app_architecture(); };
    const graph base = apps.front().package.base_model(architecture());

    // Latencies of the model every app runs (the base with its two-way classifier).
    const profiling::latency_table table = profiling::profile(
        base, "fashion_mobilenet", {.threads = 1, .runs = o.quick ? 10U : 40U, .warmup = 5});
    std::vector<double> latency;
    for (const auto& l : table.layers) latency.push_back(l.time.median_us * 1e-6);
    double whole = 0.0;
    for (double l : latency) whole += l;
    const double budget = o.budget > 0.0 ? o.budget : default_budget_models * o.stream_fps * whole;

    // The stream: test images, background of the base classes, events of the apps' targets.
    const io::labelled_images test = io::load_fashion_mnist(io::dataset_split::test, o.data);
    std::vector<std::int32_t> targets;
    for (const auto& t : tasks) targets.insert(targets.end(), t.targets.begin(), t.targets.end());
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
    const std::vector<std::int32_t> background(experiment::base_classes.begin(),
                                               experiment::base_classes.end());
    const experiment::frame_stream stream(
        test.images, test.labels, background, targets,
        {.fps = o.stream_fps, .duration_s = o.duration_s, .event_ms = o.event_length_ms, .seed = o.seed});
    const std::int64_t frames = stream.frame_count();
    const std::int64_t window = stream.event_frames();

    auto t0 = steady::now();
    std::vector<io::mpackage> packages;
    for (const auto& a : apps) packages.push_back(a.package);
    const std::vector<experiment::app_predictions> predictions =
        experiment::predict_stream(packages, architecture, stream.frames(), 0);
    const double predict_seconds = since(t0);

    for (std::size_t a = 0; a < apps.size(); ++a) {
        apps[a].events = stream.events_for(apps[a].task.targets);
        const std::vector<experiment::frame_decision> none(static_cast<std::size_t>(frames),
                                                           experiment::frame_decision::negative);
        apps[a].event_frequency = experiment::evaluate_events(none, apps[a].events, window).event_frequency;
        apps[a].correlation = experiment::estimate_correlation(predictions[a], apps[a].events);
    }

    std::printf(
        "stemshare demo: %zu apps, stream %.0f fps x %.0f s (%lld frames, events of %.0f ms = %lld frames)\n",
        apps.size(), o.stream_fps, o.duration_s, static_cast<long long>(frames), o.event_length_ms,
        static_cast<long long>(window));
    std::printf("base model fashion_mobilenet: %.1f us per frame (sum of %zu layer medians, 1 thread, %s)\n",
                whole * 1e6, latency.size(), table.isa.c_str());
    std::printf("budget %.5f core-seconds per second of stream = %.2f full models at %.0f fps%s\n", budget,
                budget / (o.stream_fps * whole), o.stream_fps, o.budget > 0.0 ? " (--budget)" : " (default)");
    std::printf("the box has %.3f%% of one core: every layer takes its measured time / %.5f\n",
                budget * 100.0, budget);
    std::printf("per app: event frequency e (measured), frame correlation c (estimated):\n");
    for (const auto& a : apps)
        std::printf("  %-12s e %.3f  c %.3f  (%zu events)\n", std::string(a.task.name).c_str(),
                    a.event_frequency, a.correlation.correlation, a.events.size());

    std::vector<double> box_latency;
    for (double l : latency) box_latency.push_back(l / budget);

    const std::int64_t check_frames =
        o.check_seconds > 0.0 ? cut_at_event_start(stream, std::llround(o.check_seconds * o.stream_fps)) : 0;
    if (o.real_time && check_frames == 0)
        throw error("--check-seconds",
                    "must be positive with --real-time (it is how much of the stream runs in real time)");
    const auto realtime_apps = [&](const sched::plan& pl, std::size_t n) {
        std::vector<experiment::realtime_app> ra;
        for (std::size_t a = 0; a < n; ++a) {
            const auto& m = apps[a].package.manifest();
            std::size_t ci = 0;
            while (m.candidates[ci].num_frozen != static_cast<std::size_t>(pl.apps[a].num_frozen)) ++ci;
            ra.push_back({std::string(apps[a].task.name), apps[a].package.candidate_model(ci, architecture()),
                          static_cast<std::size_t>(pl.apps[a].num_frozen), pl.apps[a].fps});
        }
        return ra;
    };

    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    std::printf("\n%-4s %-18s %-9s %-9s %-9s %-7s %-6s %s\n", "apps", "policy", "F1 meas", "F1 pred",
                "F1 samp", "cost/B", "drops", "fps per app (k@fps)");
    t0 = steady::now();
    double realtime_seconds = 0.0;
    for (std::size_t n = 1; n <= apps.size(); ++n) {
        std::vector<sched::app_spec> specs;
        for (std::size_t a = 0; a < n; ++a) {
            sched::app_spec s;
            s.name = std::string(apps[a].task.name);
            s.event_length_ms = o.event_length_ms;
            s.event_frequency = apps[a].event_frequency;
            s.correlation = apps[a].correlation.correlation;
            for (const auto& c : apps[a].package.manifest().candidates)
                s.curve.push_back(
                    {static_cast<int>(c.num_frozen), c.true_positive_rate, c.false_positive_rate});
            specs.push_back(std::move(s));
        }
        for (const auto& pol : policies()) {
            const sched::problem problem(specs, sched::cost_model(latency), o.stream_fps, pol.mode);
            const sched::plan pl = sched::run_planner(pol.planner, problem, budget);
            std::vector<experiment::replay_app> plan_apps;
            std::vector<const experiment::candidate_decisions*> chosen;
            for (std::size_t a = 0; a < n; ++a) {
                plan_apps.push_back({static_cast<std::size_t>(pl.apps[a].num_frozen), pl.apps[a].fps});
                chosen.push_back(&predictions[a].at(static_cast<std::size_t>(pl.apps[a].num_frozen)));
            }
            const bool use_realtime = o.real_time;
            const std::int64_t measured_frames = use_realtime ? check_frames : frames;
            outcome m;
            if (use_realtime) {
                const auto t_rt = steady::now();
                const auto r = experiment::run_realtime(stream.frames(), o.stream_fps, realtime_apps(pl, n),
                                                        measured_frames, {.box_share = budget});
                realtime_seconds += since(t_rt);
                m = score(r.decisions, apps, measured_frames, window);
                m.achieved_fps = r.achieved_fps;
                m.dropped = r.dropped_frames;
                m.load = r.measured_load;
            } else {
                const auto r = experiment::replay(plan_apps, box_latency, o.stream_fps, frames);
                m = score(decisions_of(r, chosen), apps, frames, window);
                m.achieved_fps = r.achieved_fps;
                m.dropped = r.dropped_frames;
                m.load = r.measured_load;
            }
            double sum_measured = 0.0;
            double sum_predicted = 0.0;
            double sum_sampled = 0.0;
            nlohmann::ordered_json per_app = nlohmann::ordered_json::array();
            std::string fps_text;
            for (std::size_t a = 0; a < n; ++a) {
                const auto& c = *chosen[a];
                const sched::event_params ev{o.event_length_ms, apps[a].event_frequency,
                                             apps[a].correlation.correlation, o.stream_fps};
                const double sampled = experiment::sampled_event_quality(
                                           c.true_positive_rate, c.false_positive_rate, ev, pl.apps[a].fps)
                                           .f1;
                sum_measured += m.f1[a];
                sum_predicted += pl.apps[a].quality.f1;
                sum_sampled += sampled;
                if (!fps_text.empty()) fps_text += ' ';
                fps_text += std::to_string(pl.apps[a].num_frozen);
                fps_text += '@';
                fps_text += pl.apps[a].fps < 1.0 ? fixed(pl.apps[a].fps, 1) : fixed(pl.apps[a].fps, 0);
                per_app.push_back({{"app", specs[a].name},
                                   {"num_frozen", pl.apps[a].num_frozen},
                                   {"fps", pl.apps[a].fps},
                                   {"achieved_fps", m.achieved_fps[a]},
                                   {"f1_measured", m.f1[a]},
                                   {"f1_predicted", pl.apps[a].quality.f1},
                                   {"f1_predicted_sampled", sampled},
                                   {"tpr", c.true_positive_rate},
                                   {"fpr", c.false_positive_rate}});
            }
            const double k = static_cast<double>(n);
            rows.push_back({{"apps", n},
                            {"policy", pol.name},
                            {"planner", std::string(sched::to_string(pol.planner))},
                            {"runner", use_realtime ? "real-time" : "replay"},
                            {"mean_f1_measured", sum_measured / k},
                            {"mean_f1_predicted", sum_predicted / k},
                            {"mean_f1_predicted_sampled", sum_sampled / k},
                            {"plan_cost", pl.cost},
                            {"feasible", pl.feasible()},
                            {"measured_load", m.load},
                            {"dropped_frames", m.dropped},
                            {"per_app", per_app}});
            std::printf("%-4zu %-18s %-9s %-9s %-9s %-7s %-6lld %s\n", n, pol.name.c_str(),
                        fixed(sum_measured / k, 3).c_str(), fixed(sum_predicted / k, 3).c_str(),
                        fixed(sum_sampled / k, 3).c_str(), fixed(pl.cost / budget, 2).c_str(),
                        static_cast<long long>(m.dropped), fps_text.c_str());
            std::fflush(stdout);
        }
    }
    const double sweep_seconds = since(t0);

    // Real time against replay on one configuration: Mainstream with every app.
    nlohmann::ordered_json check = nullptr;
    if (!o.real_time && check_frames > 0) {
        const std::size_t n = apps.size();
        const auto& row = rows[rows.size() - policies().size()];
        sched::plan pl;
        for (const auto& pa : row["per_app"])
            pl.apps.push_back({pa["num_frozen"].get<int>(), pa["fps"].get<double>(), {}, 0.0});
        std::vector<experiment::replay_app> plan_apps;
        std::vector<const experiment::candidate_decisions*> chosen;
        for (std::size_t a = 0; a < n; ++a) {
            plan_apps.push_back({static_cast<std::size_t>(pl.apps[a].num_frozen), pl.apps[a].fps});
            chosen.push_back(&predictions[a].at(static_cast<std::size_t>(pl.apps[a].num_frozen)));
        }
        note("real-time check: mainstream with " + std::to_string(n) + " apps for " +
             fixed(static_cast<double>(check_frames) / o.stream_fps, 1) + " s");
        const auto t_rt = steady::now();
        const auto rt = experiment::run_realtime(stream.frames(), o.stream_fps, realtime_apps(pl, n),
                                                 check_frames, {.box_share = budget});
        realtime_seconds += since(t_rt);
        const auto rp = experiment::replay(plan_apps, box_latency, o.stream_fps, check_frames);
        const outcome mr = score(rt.decisions, apps, check_frames, window);
        const outcome mp = score(decisions_of(rp, chosen), apps, check_frames, window);
        double f_rt = 0.0;
        double f_rp = 0.0;
        double fps_rt = 0.0;
        double fps_rp = 0.0;
        for (std::size_t a = 0; a < n; ++a) {
            f_rt += mr.f1[a] / static_cast<double>(n);
            f_rp += mp.f1[a] / static_cast<double>(n);
            fps_rt += rt.achieved_fps[a] / static_cast<double>(n);
            fps_rp += rp.achieved_fps[a] / static_cast<double>(n);
        }
        const double table_frame_us =
            rp.processed_frames > 0
                ? rp.busy_seconds * budget / static_cast<double>(rp.processed_frames) * 1e6
                : 0.0;
        std::printf(
            "\nreal time vs replay (mainstream, %zu apps, first %.1f s): mean F1 %.3f vs %.3f, mean fps %.2f "
            "vs %.2f, "
            "drops %lld vs %lld, box load %.2f vs %.2f; a processed frame took %.1f us in the executor, the "
            "latency table says %.1f us\n",
            n, static_cast<double>(check_frames) / o.stream_fps, f_rt, f_rp, fps_rt, fps_rp,
            static_cast<long long>(rt.dropped_frames), static_cast<long long>(rp.dropped_frames),
            rt.measured_load, rp.measured_load, rt.mean_frame_seconds * 1e6, table_frame_us);
        check = {{"apps", n},
                 {"policy", "mainstream"},
                 {"seconds", static_cast<double>(check_frames) / o.stream_fps},
                 {"f1_realtime", f_rt},
                 {"f1_replay", f_rp},
                 {"fps_realtime", fps_rt},
                 {"fps_replay", fps_rp},
                 {"drops_realtime", rt.dropped_frames},
                 {"drops_replay", rp.dropped_frames},
                 {"load_realtime", rt.measured_load},
                 {"load_replay", rp.measured_load},
                 {"executor_frame_us", rt.mean_frame_seconds * 1e6},
                 {"table_frame_us", table_frame_us}};
    }

    // Measured vs predicted, over every configuration.
    double gap = 0.0;
    double gap_sampled = 0.0;
    double bias = 0.0;
    for (const auto& r : rows) {
        const double m = r["mean_f1_measured"].get<double>();
        gap += std::abs(r["mean_f1_predicted"].get<double>() - m);
        gap_sampled += std::abs(r["mean_f1_predicted_sampled"].get<double>() - m);
        bias += r["mean_f1_predicted"].get<double>() - m;
    }
    const double count = static_cast<double>(rows.size());
    std::printf(
        "\nmean |predicted - measured| F1 over %zu configurations: %.3f (scheduler's model, bias %+.3f), "
        "%.3f (same model with L f / 1000 samples per event)\n",
        rows.size(), gap / count, bias / count, gap_sampled / count);

    nlohmann::ordered_json apps_json = nlohmann::ordered_json::array();
    for (const auto& a : apps)
        apps_json.push_back({{"app", std::string(a.task.name)},
                             {"targets", a.task.targets},
                             {"events", a.events.size()},
                             {"event_frequency", a.event_frequency},
                             {"correlation", a.correlation.correlation},
                             {"hit_rate", a.correlation.hit_rate},
                             {"miss_after_miss", a.correlation.miss_after_miss}});
    nlohmann::ordered_json result{{"stream",
                                   {{"fps", o.stream_fps},
                                    {"duration_s", o.duration_s},
                                    {"frames", frames},
                                    {"event_length_ms", o.event_length_ms},
                                    {"event_frames", window},
                                    {"seed", o.seed}}},
                                  {"budget", budget},
                                  {"budget_in_full_models_at_stream_fps", budget / (o.stream_fps * whole)},
                                  {"model_seconds_per_frame", whole},
                                  {"layer_latencies", latency},
                                  {"isa", table.isa},
                                  {"apps", apps_json},
                                  {"results", rows},
                                  {"realtime_check", check},
                                  {"mean_abs_gap_predicted", gap / count},
                                  {"mean_bias_predicted", bias / count},
                                  {"mean_abs_gap_predicted_sampled", gap_sampled / count},
                                  {"seconds",
                                   {{"predictions", predict_seconds},
                                    {"sweep", sweep_seconds},
                                    {"real_time", realtime_seconds},
                                    {"total", since(t_start)}}}};
    write_file((out / "results.json").string(), result.dump(2) + "\n");
    std::printf("wrote %s\n", (out / "results.json").string().c_str());
    std::vector<std::string> names;
    for (const auto& p : policies()) names.push_back(p.name);
    plot(out, names, apps.size(), rows);
    std::printf("done in %.1f s (predictions %.1f s, sweep %.1f s, real time %.1f s)\n", since(t_start),
                predict_seconds, sweep_seconds, realtime_seconds);
}

}  // namespace demo_detail

/// Registers `stemshare demo`.
inline void register_demo_command(CLI::App& app) {
    auto o = std::make_shared<demo_detail::options>();
    CLI::App* sub = app.add_subcommand(
        "demo",
        "The Mainstream experiment: plan 1..N apps under Mainstream, No-sharing and Max-sharing on one "
        "budget, "
        "run them on a Fashion-MNIST stream, print measured vs predicted event F1, write JSON and a plot");
    sub->add_option("--apps", o->apps,
                    "Comma-separated app names, in the order they are added (default: all ten)");
    sub->add_option(
        "--budget", o->budget,
        "Compute budget in core-seconds per second of stream (default: 0.75 full models at the stream rate)");
    sub->add_option("--stream-fps", o->stream_fps, "Frames per second of the stream")->capture_default_str();
    sub->add_option("--event-length-ms", o->event_length_ms, "How long an object stays in view")
        ->capture_default_str();
    sub->add_option("--duration", o->duration_s, "Seconds of stream")->capture_default_str();
    sub->add_option("--seed", o->seed, "Seed of the stream")->capture_default_str();
    sub->add_flag("--retrain", o->retrain,
                  "Train the base model and the apps from scratch first (about 13 min)");
    sub->add_option("--out", o->out, "Folder for results.json, f1.dat, f1.png")->capture_default_str();
    sub->add_option("--models", o->models, "Folder with fashion_base.safetensors and apps/<app>/")
        ->capture_default_str();
    sub->add_option("--data", o->data, "Fashion-MNIST folder (Debian: dataset-fashion-mnist)")
        ->capture_default_str();
    sub->add_flag("--quick", o->quick,
                  "Short run for CI: 3 apps (unless --apps), 120 s of stream, 8 s real-time check");
    sub->add_flag(
        "--real-time", o->real_time,
        "Measure every configuration with the real-time runner on the first --check-seconds of the stream");
    sub->add_option("--check-seconds", o->check_seconds,
                    "Seconds of stream for the real-time run (0: none without --real-time)")
        ->capture_default_str();
    sub->callback([o] { demo_detail::run(*o); });
}

}  // namespace stemshare::tools
