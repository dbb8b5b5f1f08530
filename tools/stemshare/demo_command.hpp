#pragma once
// `stemshare demo`: the end-to-end Mainstream experiment (docs/experiment.md, "The demo"). Trains
// nothing unless asked: it loads the committed M-Packages, measures the base model's per-layer
// latencies, builds a stream with events and predicts every candidate on it, then hands all of it
// to the sweep (stemshare/experiment/sweep.hpp: plans 1..N apps under Mainstream, No-sharing and
// Max-sharing on one compute budget and measures every plan's event F1) and the result to the
// report (demo_report.hpp: table, results.json, plot). This file parses flags and loads.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/predictions.hpp>
#include <stemshare/experiment/realtime_check.hpp>
#include <stemshare/experiment/stream.hpp>
#include <stemshare/experiment/sweep.hpp>
#include <stemshare/io/idx.hpp>
#include <stemshare/io/mpackage.hpp>
#include <stemshare/runtime/frame_wait.hpp>
#include <stemshare/sched/quality_model.hpp>

#include <fashion/app_tasks.hpp>
#include <fashion/dataset.hpp>
#include <fashion/training.hpp>

#include "demo_report.hpp"
#include "frame_costs.hpp"

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
    std::string data = std::string(fashion::default_data_dir);
    bool quick = false;
    bool real_time = false;
    double check_seconds = 60.0;
    double calibration_s = 120.0;
    std::uint64_t seed = 1;
    std::string quality_model = "mainstream";
    std::string frame_wait = "sleep";
    double profile_gap_ms = -1.0;
    bool stagger = false;
    double burst_margin = 0.0;
    bool second_copy = false;
    frame_cost_options costs;
};

using steady = std::chrono::steady_clock;

/// The default budget in full models at the stream rate. Every app's best frame rate on the
/// default stream is about 4 of 15 fps (precision falls above it), so No-sharing needs
/// 4 / 15 of a full model per app: 0.75 fits two apps and not three.
inline constexpr double default_budget_models = 0.75;

/// The calibration stream's seed is the scored stream's plus this: a different segment.
inline constexpr std::uint64_t calibration_seed_offset = 1000;

inline double since(steady::time_point t) {
    return std::chrono::duration<double>(steady::now() - t).count();
}

inline void note(const std::string& text) {
    std::fprintf(stderr, "demo: %s\n", text.c_str());
    std::fflush(stderr);
}

/// The apps `--apps` names, in its order (default: all ten, the first three with --quick).
inline std::vector<fashion::app_task> chosen_tasks(const options& o) {
    std::vector<fashion::app_task> tasks;
    if (o.apps.empty()) {
        tasks = fashion::all_apps();
        if (o.quick) tasks.resize(3);
        return tasks;
    }
    std::stringstream in(o.apps);
    for (std::string name; std::getline(in, name, ',');)
        if (!name.empty()) {
            for (const auto& t : tasks)
                if (t.name == name) throw error("--apps", "names '" + name + "' twice");
            tasks.push_back(fashion::find_app(name));
        }
    if (tasks.empty()) throw error("--apps", "names no app");
    return tasks;
}

inline void retrain(const options& o, const std::vector<fashion::app_task>& tasks,
                    const std::filesystem::path& models) {
    note("--retrain: training the base model and the apps from scratch (about 13 min on 2 cores)");
    const io::labelled_images train_split = fashion::load_dataset(fashion::dataset_split::train, o.data);
    fashion::base_training_report report;
    const graph base = fashion::train_base_model(train_split, {}, report);
    fashion::save_weights(base, models / "fashion_base.safetensors");
    fashion::app_training_options recipe;
    recipe.positives = 1500;  // the committed packages' recipe (docs/experiment.md)
    for (const auto& t : tasks)
        (void)fashion::train_app(base, t, train_split, recipe, models / "apps" / std::string(t.name));
}

/// The M-Packages of `tasks` under `models`/apps/.
inline std::vector<io::mpackage> read_packages(const std::vector<fashion::app_task>& tasks,
                                               const std::filesystem::path& models) {
    std::vector<io::mpackage> packages;
    for (const auto& t : tasks) {
        const auto folder = models / "apps" / std::string(t.name);
        if (!std::filesystem::exists(folder / "manifest.json"))
            throw error(
                "app '" + std::string(t.name) + "'",
                "no M-Package in " + folder.string() + " (give --models DIR, or --retrain to train them)");
        packages.push_back(io::mpackage::read(folder));
    }
    return packages;
}

/// The bound model of `package`'s candidate with `num_frozen` frozen layers, for the real-time runner.
inline graph candidate_model(const io::mpackage& package, std::size_t num_frozen) {
    const auto& candidates = package.manifest().candidates;
    for (std::size_t c = 0; c < candidates.size(); ++c)
        if (candidates[c].num_frozen == num_frozen)
            return package.candidate_model(c, fashion::app_architecture());
    throw error("app '" + package.manifest().app + "'",
                "has no candidate with num_frozen " + std::to_string(num_frozen));
}

inline void run(options o) {
    const auto t_start = steady::now();
    if (!(o.stream_fps >= 1.0 && o.stream_fps <= 120.0)) throw error("--stream-fps", "must be in [1, 120]");
    if (!(o.event_length_ms > 0.0)) throw error("--event-length-ms", "must be positive");
    if (o.budget < 0.0) throw error("--budget", "must be positive (0: derived from the measured latencies)");
    if (!(o.duration_s > 0.0)) throw error("--duration", "must be positive");
    if (!(o.check_seconds >= 0.0)) throw error("--check-seconds", "must be >= 0");
    if (!(o.calibration_s > 0.0)) throw error("--calibration-seconds", "must be positive");
    if (o.profile_gap_ms > 60'000.0) throw error("--profile-gap-ms", "must be at most 60000");
    check_frame_cost_flags(o.costs);
    if (!(o.burst_margin >= 0.0) || !(o.burst_margin < 10.0))
        throw error("--burst-margin", "must be in [0, 10), got " + std::to_string(o.burst_margin));
    if (o.quick) {
        o.duration_s = std::min(o.duration_s, 120.0);
        o.check_seconds = std::min(o.check_seconds, 8.0);
        o.calibration_s = std::min(o.calibration_s, 60.0);
    }
    const std::vector<fashion::app_task> tasks = chosen_tasks(o);
    const std::filesystem::path out(o.out);
    std::filesystem::create_directories(out);
    std::filesystem::path models(o.models);
    if (o.retrain) {
        models = out / "models";
        retrain(o, tasks, models);
    }
    const std::vector<io::mpackage> packages = read_packages(tasks, models);
    const auto architecture = [] { return fashion::app_architecture(); };
    const graph base = packages.front().base_model(architecture());

    experiment::sweep_input in;
    in.quality_model = sched::parse_quality_model(o.quality_model, "--quality-model");
    in.wait.rule = runtime::parse_frame_wait(o.frame_wait, "--frame-wait");
    in.stagger = o.stagger;
    in.burst.margin = o.burst_margin;
    // Latencies of the model every app runs (the base with its two-way classifier), in sparse mode
    // by default: an idle gap of one stream frame interval before every run, the regime the live
    // runner runs frames in (runtime/frame_wait.hpp); --profile-gap-ms 0 measures back to back.
    const double gap_ms = o.profile_gap_ms >= 0.0 ? o.profile_gap_ms : 1000.0 / o.stream_fps;
    // The table times one model; a live frame runs a stem and many suffixes, each a step of its
    // own. The frame cost model is fitted to frames a live executor runs (experiment/
    // frame_calibration.hpp) and written into the table, so every plan, replay and fit charges it.
    frame_cost_options costs_options = o.costs;
    costs_options.runs = o.quick ? 10U : 40U;
    costs_options.profile_gap_ms = gap_ms;
    costs_options.second_copy = o.second_copy;
    costs_options.calibration_frames = o.quick ? 6U : 15U;
    frame_costs costs = measure_frame_costs(base, "fashion_mobilenet", costs_options);
    in.latencies = std::move(costs.table);
    in.step_seconds = costs.step_seconds();
    double whole = 0.0;
    for (double l : experiment::layer_seconds(in.latencies)) whole += l;
    in.budget = o.budget > 0.0 ? o.budget : default_budget_models * o.stream_fps * whole;

    // The stream: test images, background of the base classes, events of the apps' targets.
    const io::labelled_images test = fashion::load_dataset(fashion::dataset_split::test, o.data);
    std::vector<std::int32_t> targets;
    for (const auto& t : tasks) targets.insert(targets.end(), t.targets.begin(), t.targets.end());
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
    const std::vector<std::int32_t> background(fashion::base_classes.begin(), fashion::base_classes.end());
    const experiment::frame_stream stream(
        test.images, test.labels, background, targets,
        {.fps = o.stream_fps, .duration_s = o.duration_s, .event_ms = o.event_length_ms, .seed = o.seed});
    in.stream = &stream;

    // The calibration stream: another segment (its own seed), never scored; each app's event
    // frequency e and frame correlation c, which the planners need, are estimated on it.
    const experiment::frame_stream calibration(test.images, test.labels, background, targets,
                                               {.fps = o.stream_fps,
                                                .duration_s = o.calibration_s,
                                                .event_ms = o.event_length_ms,
                                                .seed = o.seed + calibration_seed_offset});

    const auto t_predict = steady::now();
    std::vector<experiment::app_predictions> predictions =
        experiment::predict_stream(packages, architecture, stream.frames(), 0);
    std::vector<experiment::app_predictions> calibration_predictions =
        experiment::predict_stream(packages, architecture, calibration.frames(), 0);
    demo_report::timings seconds;
    seconds.predictions = since(t_predict);
    for (std::size_t a = 0; a < tasks.size(); ++a) {
        const experiment::sweep_app calibrated = experiment::measure_app(
            std::string(tasks[a].name), std::move(calibration_predictions[a]), tasks[a].targets, calibration);
        experiment::sweep_app app = experiment::measure_app(
            std::string(tasks[a].name), std::move(predictions[a]), tasks[a].targets, stream);
        app.event_frequency = calibrated.event_frequency;
        app.correlation = calibrated.correlation;
        app.candidate_model = [package = &packages[a]](std::size_t k) {
            return candidate_model(*package, k);
        };
        in.apps.push_back(std::move(app));
    }
    demo_report::print_setup(in, o.budget > 0.0);
    std::printf(
        "latency table: sparse profiling, %.1f ms idle before every run%s%s; live frame wait: %s; "
        "branch-point-0 apps at one rate %s\n",
        gap_ms, gap_ms > 0.0 ? "" : " (back to back)",
        o.second_copy || costs.fit ? ", further copies of a layer in a frame at their second-copy time" : "",
        o.frame_wait.c_str(), in.stagger ? "staggered (--stagger)" : "on the same frames");
    if (costs.fit) print_frame_calibration(*costs.fit);

    const std::int64_t check_frames =
        o.check_seconds > 0.0
            ? experiment::cut_at_event_start(stream, std::llround(o.check_seconds * o.stream_fps))
            : 0;
    if (o.real_time && check_frames == 0)
        throw error("--check-seconds",
                    "must be positive with --real-time (it is how much of the stream runs in real time)");
    if (o.real_time) {
        in.runner = experiment::sweep_runner::realtime;
        in.realtime_frames = check_frames;
    }
    in.on_row = [budget = in.budget](const experiment::sweep_row& row) {
        demo_report::print_row(row, budget);
    };

    demo_report::print_table_header(in.runner, in.quality_model);
    const auto t_sweep = steady::now();
    const std::vector<experiment::sweep_row> rows = experiment::run_sweep(in);
    seconds.sweep = since(t_sweep);
    for (const auto& r : rows) seconds.real_time += r.realtime_seconds;

    // The headline: every policy with every app live (the executor on the wall clock) on the first
    // --check-seconds of the stream, each beside its replay on the latency table (the prediction).
    std::vector<experiment::realtime_comparison> live;
    if (!o.real_time && check_frames > 0) {
        const std::size_t first = rows.size() - in.policies.size();
        for (std::size_t p = 0; p < in.policies.size(); ++p) {
            const experiment::sweep_row& row = rows[first + p];
            note("live: " + row.policy + " with " + std::to_string(row.app_count) + " apps for " +
                 demo_report::fixed(static_cast<double>(check_frames) / o.stream_fps, 1) + " s");
            live.push_back(experiment::compare_realtime(in, row, check_frames));
            seconds.real_time += live.back().realtime_seconds;
        }
        demo_report::print_live(live);
    }
    demo_report::print_prediction_gap(experiment::measure_prediction_gap(rows), in.quality_model);

    seconds.total = since(t_start);
    demo_report::write_results(out, demo_report::results_json(in, tasks, rows, live, seconds, costs.fit));
    demo_report::plot(out, in.policies, in.apps.size(), rows);
    seconds.total = since(t_start);
    demo_report::print_done(seconds);
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
                    "Seconds of stream each policy runs live with every app (0: none without --real-time)")
        ->capture_default_str();
    sub->add_option("--calibration-seconds", o->calibration_s,
                    "Seconds of the calibration stream (another segment, never scored) that e and c are "
                    "estimated on")
        ->capture_default_str();
    sub->add_option(
           "--quality-model", o->quality_model,
           "App-quality model every policy plans with: mainstream (the original Mainstream model) | sampled")
        ->capture_default_str();
    sub->add_option("--frame-wait", o->frame_wait,
                    "How the live runner waits for a frame: sleep | spin | sleep-spin | sleep-warm")
        ->capture_default_str();
    sub->add_flag("--stagger", o->stagger,
                  "Stagger the branch-point-0 apps at one rate (a phase each); default: the original rule, "
                  "apps at one rate take the same frames");
    sub->add_option(
           "--burst-margin", o->burst_margin,
           "mainstream+burst: charge each frame (1 + margin) x its table time when fitting the plan's "
           "frames into the gaps between them")
        ->capture_default_str();
    sub->add_flag(
        "--second-copy", o->second_copy,
        "Profile each layer's second copy too (right after the first) and charge a frame's further "
        "copies of a layer that time in replay and burst fitting (always so when the frame cost model is "
        "fitted; with --no-frame-calibration the default is every copy at the table's time)");
    add_frame_calibration_flags(sub, o->costs);
    sub->add_option(
        "--profile-gap-ms", o->profile_gap_ms,
        "Idle gap before every profiling run (default: one stream frame interval; 0: back to back)");
    sub->callback([o] { demo_detail::run(*o); });
}

}  // namespace stemshare::tools
