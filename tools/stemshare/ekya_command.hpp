#pragma once
// `stemshare ekya`: continuous retraining beside inference (docs/ekya.md). The real mode (default)
// runs each window's inference and retraining jobs concurrently, each held to its share
// (experiment/ekya_real_window.hpp). The simulated mode: drifting Fashion-MNIST cameras
// (tools/ekya/drift.json); per window every camera's configurations are micro-profiled on its current model,
// the scheduler allocates on those profiles, and the chosen retrainings are then run in full so the window is
// scored with what they really reached and really took (the section 7 score on measured outcomes). Both
// modes retrain on labels from the golden model (experiment/ekya_models.hpp) and score against ground truth.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <fashion/dataset.hpp>
#include <stemshare/backend/onednn/threading.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/experiment/drift_stream.hpp>
#include <stemshare/experiment/ekya_models.hpp>
#include <stemshare/experiment/ekya_real_window.hpp>
#include <stemshare/experiment/micro_profiler.hpp>
#include <stemshare/sched/ekya/fair.hpp>
#include <stemshare/sched/ekya/no_retrain.hpp>
#include <stemshare/sched/ekya/score.hpp>
#include <stemshare/sched/ekya/thief.hpp>
#include <stemshare/stem/stem_trie.hpp>
#include <stemshare/train/fine_tune.hpp>
#include <stemshare/train/fit.hpp>
#include <stemshare/train/initialise.hpp>
#include <stemshare/train/network.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>

#include "write_file.hpp"

namespace stemshare::tools {

namespace ekya_detail {

namespace ek = sched::ekya;

struct options {
    std::string cameras = "2,4";
    int windows = 4;
    int frames = 400;
    double window_seconds = 0;  ///< 0: the mode's default (simulated 20, real 10, real --quick 5)
    std::uint64_t seed = 42;
    std::string drift = STEMSHARE_EKYA_DEFAULT_DRIFT;
    std::string golden = STEMSHARE_EKYA_DEFAULT_GOLDEN;  ///< "truth": retrain on ground-truth labels
    std::string base = STEMSHARE_EKYA_DEFAULT_BASE;
    /// Branch point of the cameras' shared stem: window-0 models are the base fine-tuned from here
    /// on, and the thief+stem policy never retrains below it.
    std::size_t stem = 21;
    std::string data = std::string(fashion::default_data_dir);
    std::string out = "out/ekya";
    std::string mode = "real";
    bool quick = false;
};

inline std::vector<int> split_ints(const std::string& text) {
    std::vector<int> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) out.push_back(std::stoi(item));
    return out;
}

/// One camera's frames: retraining data (train split, labelled by the golden model) and scored
/// frames (test split, ground truth) per window.
struct camera_stream {
    std::vector<experiment::window_frames> train, eval;
    /// Per window: the share of the retraining frames whose golden label is the true one.
    std::vector<double> golden_accuracy;
};

/// Accuracy of `predicted` when only 1 frame in n is analysed and the last result reused.
inline double reuse_accuracy(const std::vector<std::int32_t>& predicted,
                             const std::vector<std::int32_t>& labels, std::size_t n) {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) hits += predicted[i - i % n] == labels[i] ? 1 : 0;
    return static_cast<double>(hits) / static_cast<double>(labels.size());
}

/// The measured inference table: relative accuracy at 1/n of the frames, n in {20, 8, 4, 2, 1}.
inline ek::inference_curve measured_curve(const std::vector<std::int32_t>& predicted,
                                          const std::vector<std::int32_t>& labels, double full_share) {
    const double full = std::max(1e-9, reuse_accuracy(predicted, labels, 1));
    std::vector<std::pair<double, double>> points;
    for (std::size_t n : {20u, 8u, 4u, 2u, 1u})
        points.emplace_back(1.0 / static_cast<double>(n),
                            std::min(1.0, reuse_accuracy(predicted, labels, n) / full));
    return ek::inference_curve(full_share, points);
}

struct profile_row {
    int cameras, window;
    std::string scheduler, camera, config;
    double start, predicted, reached, predicted_s, measured_s;
};

struct run_result {
    int cameras;
    std::string scheduler;
    std::vector<double> window_accuracy;  // mean over cameras, window 0 first
    /// The cameras' final models in one stem trie at the stem's branch point: weight bytes resident
    /// (each shared stem node once) and what separate models would hold.
    std::int64_t weight_bytes = 0, unshared_weight_bytes = 0;
};

/// Fills `r`'s weight bytes from the cameras' final `models`, deduplicated by the stem trie.
inline void measure_sharing(run_result& r, const std::vector<graph>& models, std::size_t stem) {
    stem::stem_trie trie(models.front().input_shape());
    for (std::size_t c = 0; c < models.size(); ++c)
        trie.insert("camera" + std::to_string(c), models[c], stem);
    const stem::sharing_report rep = trie.report();
    r.weight_bytes = rep.stem_bytes + rep.suffix_bytes;
    r.unshared_weight_bytes = r.weight_bytes + rep.bytes_saved;
}

/// Mean accuracy over the retraining windows (1..): window 0 is inference only, the same for all.
inline double retraining_mean(const run_result& r) {
    double mean = 0;
    for (std::size_t w = 1; w < r.window_accuracy.size(); ++w) mean += r.window_accuracy[w];
    return mean / static_cast<double>(r.window_accuracy.size() - 1);
}

/// Prints the accuracy table and puts the same rows in `j["runs"]`.
inline void report_runs(const std::vector<run_result>& runs, nlohmann::json& j) {
    std::printf("%-8s %-11s %s  %s  %s\n", "cameras", "scheduler", "mean acc (windows 1..)",
                "weights KB (unshared)", "per window");
    for (const run_result& r : runs) {
        const double mean = retraining_mean(r);
        std::printf("%-8d %-11s %.4f                  %6.1f (%6.1f)        ", r.cameras, r.scheduler.c_str(),
                    mean, static_cast<double>(r.weight_bytes) / 1024.0,
                    static_cast<double>(r.unshared_weight_bytes) / 1024.0);
        for (double v : r.window_accuracy) std::printf(" %.3f", v);
        std::printf("\n");
        j["runs"].push_back({{"cameras", r.cameras},
                             {"scheduler", r.scheduler},
                             {"window_accuracy", r.window_accuracy},
                             {"mean_accuracy", mean},
                             {"weight_bytes", r.weight_bytes},
                             {"unshared_weight_bytes", r.unshared_weight_bytes}});
    }
}

/// Prints the micro-profiler's mean errors over `profiles` (`which`: which retrainings they are;
/// `time_kind`: what their seconds are) and puts them, with every row, in `j`.
inline void report_profiles(const std::vector<profile_row>& profiles, const char* which,
                            const char* time_kind, nlohmann::json& j) {
    double acc_err = 0, time_err = 0;
    for (const profile_row& p : profiles) {
        acc_err += std::abs(p.predicted - p.reached) / static_cast<double>(profiles.size());
        time_err += std::abs(p.predicted_s - p.measured_s) / std::max(1e-9, p.measured_s) /
                    static_cast<double>(profiles.size());
        j["micro_profiler"].push_back({{"cameras", p.cameras},
                                       {"scheduler", p.scheduler},
                                       {"window", p.window},
                                       {"camera", p.camera},
                                       {"config", p.config},
                                       {"start_accuracy", p.start},
                                       {"predicted_accuracy", p.predicted},
                                       {"reached_accuracy", p.reached},
                                       {"predicted_seconds", p.predicted_s},
                                       {"measured_seconds", p.measured_s}});
    }
    std::printf(
        "micro-profiler over %zu %s: mean |predicted - reached| accuracy %.4f, mean relative %s error %.3f\n",
        profiles.size(), which, acc_err, time_kind, time_err);
    j["micro_profiler_mean_abs_accuracy_error"] = acc_err;
    j["micro_profiler_mean_relative_time_error"] = time_err;
}

/// A camera's window-0 model: the cameras' base fine-tuned from the stem's branch point on the
/// camera's window-0 frames (transfer learning: every camera keeps the base's stem).
inline graph initial_model(const graph& base, std::size_t stem, const experiment::window_frames& w0,
                           std::uint64_t seed) {
    train::fine_tune_options f;
    f.num_frozen = stem;
    f.fit.epochs = 10;
    f.fit.batch_size = 32;
    f.fit.seed = seed;
    f.fit.optimiser.learning_rate = 0.02F;
    f.network.batch_norm = train::batch_norm_mode::batch_statistics;
    return train::fine_tune(base, {w0.images, w0.labels}, f).model;
}

/// Where a window's validation split starts: Ekya's 80/20 train/validation split.
inline std::size_t validation_start(std::size_t frames) {
    return frames * 8 / 10;
}

/// Window `w`'s training part (the first 80% of its frames) or its validation part (the rest).
inline train::dataset part(const experiment::window_frames& w, bool validation) {
    const auto n = static_cast<std::int64_t>(w.labels.size());
    const auto cut = static_cast<std::int64_t>(validation_start(w.labels.size()));
    std::vector<std::int64_t> items;
    for (std::int64_t i = validation ? cut : 0; i < (validation ? n : cut); ++i) items.push_back(i);
    return train::select(w.images, w.labels, items);
}

inline void plot(const std::filesystem::path& out, const std::vector<run_result>& runs) {
    std::ostringstream dat;
    for (const run_result& r : runs) {
        dat << "# " << r.cameras << " cameras " << r.scheduler << "\n";
        for (std::size_t w = 0; w < r.window_accuracy.size(); ++w)
            dat << w << " " << r.window_accuracy[w] << "\n";
        dat << "\n\n";
    }
    write_file((out / "ekya.dat").string(), dat.str());
    std::ostringstream gp;
    gp << "set terminal pngcairo size 900,500\nset output '" << (out / "ekya.png").string() << "'\n"
       << "set xlabel 'window'\nset ylabel 'mean accuracy'\nset key bottom left font ',9'\nplot ";
    for (std::size_t i = 0; i < runs.size(); ++i)
        gp << (i ? ", " : "") << "'" << (out / "ekya.dat").string() << "' index " << i
           << " using 1:2 with linespoints title '" << runs[i].cameras << " cams " << runs[i].scheduler
           << "'";
    gp << "\n";
    write_file((out / "ekya.gp").string(), gp.str());
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        std::printf("gnuplot is not installed (Debian: gnuplot-nox): no PNG; the data is in %s\n",
                    (out / "ekya.dat").string().c_str());
        return;
    }
    const std::string cmd = "gnuplot '" + (out / "ekya.gp").string() + "'";
    if (std::system(cmd.c_str()) != 0)
        std::printf("gnuplot failed: no PNG\n");
    else
        std::printf("wrote %s\n", (out / "ekya.png").string().c_str());
}

/// Writes `j` (with the run's wall time since `start`) as out/results.json and the plot of `runs`.
inline void write_results(const std::filesystem::path& out, nlohmann::json& j,
                          const std::vector<run_result>& runs, std::chrono::steady_clock::time_point start) {
    j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    write_file((out / "results.json").string(), j.dump(1) + "\n");
    plot(out, runs);
    std::printf("wrote %s\n", (out / "results.json").string().c_str());
}

/// What both modes start from: the drift schedule, each camera's windows and window-0 model.
struct setup {
    experiment::drift_schedule schedule;
    std::vector<camera_stream> streams;
    std::vector<graph> initial;
    std::vector<int> camera_counts;
    std::string labels;  ///< where the retraining labels come from, for results.json
    std::size_t stem = 0;
};

inline setup prepare(const options& o) {
    setup su;
    su.camera_counts = split_ints(o.cameras);
    require(!su.camera_counts.empty(), "--cameras", "no camera count given");
    for (int c : su.camera_counts) require(c > 0, "--cameras", "camera counts must be positive");
    require(o.windows >= 2, "--windows", "needs at least 2 windows (window 0 never retrains)");
    require(o.frames >= 160, "--frames", "needs at least 160 frames per window");
    require(o.window_seconds > 0, "--window-seconds", "must be positive");
    const graph base = experiment::load_camera_base(o.base);
    constexpr auto points = zoo::fashion_mobilenet.branch_points();
    require(
        o.stem > 0 && o.stem < base.size() && std::find(points.begin(), points.end(), o.stem) != points.end(),
        "--stem", std::to_string(o.stem) + " is not a branch point of fashion_mobilenet inside the model");
    su.stem = o.stem;
    const int max_cameras = *std::max_element(su.camera_counts.begin(), su.camera_counts.end());
    su.schedule = experiment::load_drift_schedule(o.drift);
    su.schedule.frames_per_window = o.frames;
    const bool truth = o.golden == "truth";
    std::optional<graph> golden;
    if (!truth) golden = experiment::load_golden(o.golden);
    su.labels = truth ? "ground truth (--golden truth)" : "golden model " + o.golden;
    const auto train_split = fashion::load_dataset(fashion::dataset_split::train, o.data);
    const auto test_split = fashion::load_dataset(fashion::dataset_split::test, o.data);
    const std::vector<std::int32_t> train_labels(train_split.labels.begin(), train_split.labels.end());
    const std::vector<std::int32_t> test_labels(test_split.labels.begin(), test_split.labels.end());
    // The cameras' retraining frames come from the train-split items the golden model never saw.
    std::vector<std::int64_t> camera_items;
    for (std::int64_t i = 0; i < std::min<std::int64_t>(experiment::golden_first_item, train_split.size());
         ++i)
        camera_items.push_back(i);
    const train::dataset source = train::select(train_split.images, train_labels, camera_items);
    su.streams.resize(static_cast<std::size_t>(max_cameras));
    for (int c = 0; c < max_cameras; ++c) {
        auto& s = su.streams[static_cast<std::size_t>(c)];
        for (int w = 0; w < o.windows; ++w) {
            s.train.push_back(experiment::make_window(source.inputs, source.labels, su.schedule,
                                                      static_cast<std::size_t>(c), w, o.windows, o.seed));
            s.eval.push_back(experiment::make_window(test_split.images, test_labels, su.schedule,
                                                     static_cast<std::size_t>(c), w, o.windows, o.seed + 1));
            auto& frames = s.train.back();
            if (golden) {
                const std::vector<std::int32_t> labelled = train::predict(*golden, frames.images);
                s.golden_accuracy.push_back(train::accuracy(labelled, frames.labels));
                frames.labels = labelled;
            } else {
                s.golden_accuracy.push_back(1.0);
            }
        }
        std::fprintf(stderr, "[ekya] camera %d: training its window-0 model\n", c);
        su.initial.push_back(initial_model(base, o.stem, s.train[0], o.seed + static_cast<std::uint64_t>(c)));
    }
    return su;
}

/// Prints and records (`j["golden_accuracy"]`) how often the retraining labels were right, per
/// window, over every camera stream of the run.
inline void report_labels(const setup& su, int windows, nlohmann::json& j) {
    j["labels"] = su.labels;
    std::vector<double> per_window(static_cast<std::size_t>(windows), 0.0);
    for (const camera_stream& s : su.streams)
        for (int w = 0; w < windows; ++w)
            per_window[static_cast<std::size_t>(w)] +=
                s.golden_accuracy[static_cast<std::size_t>(w)] / static_cast<double>(su.streams.size());
    j["golden_accuracy"] = per_window;
    std::printf("retraining labels: %s; right on", su.labels.c_str());
    for (double a : per_window) std::printf(" %.3f", a);
    std::printf(" of the frames per window (mean over %zu cameras)\n", su.streams.size());
}

/// The retraining configurations both modes price: head only, the suffix after the cameras'
/// shared stem and all layers, x subsample x epochs {5, 15}, plus 5 epochs on every earlier
/// window's frames (history).
inline std::vector<ek::retrain_config> config_grid(bool quick, std::size_t stem) {
    const graph probe = zoo::fashion_mobilenet.to_graph();
    const std::size_t head = probe.size() - 1;
    std::vector<ek::retrain_config> grid;
    for (std::size_t k : {head, stem, std::size_t{0}})
        for (double s : quick ? std::vector<double>{1.0} : std::vector<double>{0.5, 1.0}) {
            for (int e : {5, 15}) grid.push_back({k, s, e});
            grid.push_back({k, s, 5, true});
        }
    return grid;
}

/// Window w's retraining data for camera stream `s`: the training part of window w-1, or with
/// `history` those of every window before w.
inline train::dataset retraining_data(const camera_stream& s, int w, bool history) {
    if (!history || w == 1) return part(s.train[static_cast<std::size_t>(w - 1)], false);
    std::vector<train::dataset> parts;
    std::int64_t items = 0;
    for (int v = 0; v < w; ++v) {
        parts.push_back(part(s.train[static_cast<std::size_t>(v)], false));
        items += parts.back().size();
    }
    dims d = parts.front().inputs.extents();
    d[0] = items;
    train::dataset out{tensor<float>(d), {}};
    float* dst = out.inputs.data();
    for (const train::dataset& p : parts) {
        dst = std::copy_n(p.inputs.data(), p.inputs.numel(), dst);
        out.labels.insert(out.labels.end(), p.labels.begin(), p.labels.end());
    }
    return out;
}

/// Camera `c` of window `w` as its scheduler sees it: the current model's accuracy on window w-1's
/// validation split and the inference curve on window w-1's frames, both against the retraining
/// labels (window 0: its own frames); never the ground truth of the window it will be scored on.
inline ek::camera scheduler_view(const setup& su, std::size_t c, const graph& model, int w,
                                 double full_share) {
    const auto& frames = su.streams[c].train[static_cast<std::size_t>(std::max(0, w - 1))];
    const std::vector<std::int32_t> predicted = train::predict(model, frames.images);
    const std::size_t cut = validation_start(frames.labels.size());
    return {su.schedule.cameras[c % su.schedule.cameras.size()].name + std::to_string(c),
            train::accuracy(std::span(predicted).subspan(cut), std::span(frames.labels).subspan(cut)),
            measured_curve(predicted, frames.labels, full_share),
            {},
            std::nullopt,
            0.0};
}

/// The same camera as the simulated mode scores it: accuracy and curve on window w's frames
/// against ground truth.
inline ek::camera scored_view(const setup& su, std::size_t c, const graph& model, int w, double full_share) {
    const auto& ev = su.streams[c].eval[static_cast<std::size_t>(w)];
    const auto predicted = train::predict(model, ev.images);
    return {su.schedule.cameras[c % su.schedule.cameras.size()].name + std::to_string(c),
            train::accuracy(predicted, ev.labels),
            measured_curve(predicted, ev.labels, full_share),
            {},
            std::nullopt,
            0.0};
}

/// A row of the table: a scheduler and the configurations it may choose from.
struct policy {
    std::string name;
    const ek::scheduler* scheduler;
    /// Which configurations are priced; empty: the policy never retrains.
    std::function<bool(const ek::retrain_config&)> allows;
};

/// Thief, fair (one fixed configuration), no-retrain and thief+stem (the thief never retraining
/// below the cameras' shared stem, so every camera keeps sharing it).
inline std::vector<policy> policies(const ek::thief_scheduler& thief, const ek::fair_scheduler& fair,
                                    const ek::no_retrain_scheduler& none,
                                    const ek::retrain_config& fair_config, std::size_t stem) {
    return {{"thief", &thief, [](const ek::retrain_config&) { return true; }},
            {"fair", &fair, [fair_config](const ek::retrain_config& c) { return c == fair_config; }},
            {"no-retrain", &none, {}},
            {"thief+stem", &thief, [stem](const ek::retrain_config& c) { return c.train_from >= stem; }}};
}

inline void run_simulated(options o) {
    const auto t_start = std::chrono::steady_clock::now();
    if (o.quick) {
        o.cameras = "2";
        o.windows = 3;
        o.frames = 256;
    }
    if (o.window_seconds <= 0) o.window_seconds = 20;
    // Every job trains and infers on one thread and is timed in CPU seconds: one thread is a share
    // of 1 / cores of the box, whatever else the box is running.
    const double thread_share = 1.0 / std::max(1, onednn::core_count());
    onednn::use_threads(1);
    setup su = prepare(o);
    const std::vector<int>& camera_counts = su.camera_counts;
    auto& streams = su.streams;
    auto& initial = su.initial;
    const std::vector<ek::retrain_config> grid = config_grid(o.quick, su.stem);
    const ek::retrain_config fair_config{0, 1.0, 5};
    experiment::micro_profile_options mp;
    mp.seed = o.seed;

    std::vector<run_result> runs;
    std::vector<profile_row> profiles;
    nlohmann::json match = nlohmann::json::array();
    const std::vector<double> multipliers{1.0, 1.5, 2.0, 3.0, 4.0};
    const ek::thief_scheduler thief;
    const ek::fair_scheduler fair(fair_config);
    const ek::no_retrain_scheduler none;

    for (int cams : camera_counts) {
        const double full_share = 0.5 / cams;  // inference of every frame takes half a fair share
        std::vector<double> thief_predicted, fair_predicted(multipliers.size(), 0.0);
        for (const policy& pol : policies(thief, fair, none, fair_config, su.stem)) {
            run_result r{cams, pol.name, {}};
            std::vector<graph> models(initial.begin(), initial.begin() + cams);
            for (int w = 0; w < o.windows; ++w) {
                // `win`: what the scheduler sees; `actual`: the ground truth the window is scored with.
                ek::window win, actual;
                win.seconds = actual.seconds = o.window_seconds;
                std::vector<std::vector<experiment::micro_profile>> profs(static_cast<std::size_t>(cams));
                for (int c = 0; c < cams; ++c) {
                    const auto cu = static_cast<std::size_t>(c);
                    ek::camera cam = scheduler_view(su, cu, models[cu], w, full_share);
                    actual.cameras.push_back(scored_view(su, cu, models[cu], w, full_share));
                    if (w > 0 && pol.allows) {
                        const auto& prev = streams[cu].train[static_cast<std::size_t>(w - 1)];
                        const train::dataset validation = part(prev, true);
                        const train::dataset data[2] = {retraining_data(streams[cu], w, false),
                                                        retraining_data(streams[cu], w, true)};
                        for (const ek::retrain_config& cfg : grid) {
                            if (!pol.allows(cfg)) continue;
                            std::fprintf(stderr,
                                         "\r[ekya] %d cameras, %s, window %d, camera %d: profiling %s   ",
                                         cams, pol.name.c_str(), w, c, ek::to_string(cfg).c_str());
                            profs[cu].push_back(experiment::profile_config(
                                models[cu], data[cfg.history ? 1 : 0], validation, cfg, mp));
                            cam.options.push_back(profs[cu].back().option(thread_share));
                        }
                    }
                    actual.cameras.back().options = cam.options;
                    win.cameras.push_back(cam);
                }
                if (w == 0 || !pol.allows) {
                    r.window_accuracy.push_back(ek::score(actual, none.allocate(actual)));
                    continue;
                }
                const ek::allocation a = pol.scheduler->allocate(win);
                ek::validate(a, win);
                if (pol.name == "thief") {
                    thief_predicted.push_back(ek::score(win, a));
                    for (std::size_t m = 0; m < multipliers.size(); ++m) {
                        ek::window big = win;
                        big.box = multipliers[m];
                        fair_predicted[m] += ek::score(big, fair.allocate(big));
                    }
                }
                // Run the chosen retrainings in full and score the window with what they reached.
                std::vector<std::optional<graph>> retrained(static_cast<std::size_t>(cams));
                for (int c = 0; c < cams; ++c) {
                    const auto cu = static_cast<std::size_t>(c);
                    if (!a[cu].option) continue;
                    const auto& p = profs[cu][*a[cu].option];
                    const auto& prev = streams[cu].train[static_cast<std::size_t>(w - 1)];
                    std::fprintf(stderr, "\r[ekya] %d cameras, %s, window %d, camera %d: retraining %s   ",
                                 cams, pol.name.c_str(), w, c, ek::to_string(p.config).c_str());
                    auto full =
                        experiment::retrain(models[cu], retraining_data(streams[cu], w, p.config.history),
                                            part(prev, true), p.config, mp);
                    const auto& ev = streams[cu].eval[static_cast<std::size_t>(w)];
                    const double reached = train::accuracy(train::predict(full.model, ev.images), ev.labels);
                    profiles.push_back({cams, w, pol.name, win.cameras[cu].name, ek::to_string(p.config),
                                        p.start_accuracy, p.predicted_accuracy, full.accuracy,
                                        p.seconds_per_epoch * p.config.epochs + p.startup_seconds,
                                        full.seconds});
                    auto& opt = actual.cameras[cu].options[*a[cu].option];
                    opt.predicted_accuracy = reached;
                    opt.seconds_per_epoch = full.seconds_per_epoch * thread_share;
                    opt.startup_seconds =
                        std::max(0.0, full.seconds - full.seconds_per_epoch * p.config.epochs) * thread_share;
                    retrained[cu] = std::move(full.model);
                }
                const auto outcome = ek::simulate(actual, a);
                double mean = 0;
                for (int c = 0; c < cams; ++c) {
                    const auto cu = static_cast<std::size_t>(c);
                    mean += outcome[cu].mean_accuracy / cams;
                    if (outcome[cu].retrained_at >= 0 && retrained[cu])
                        models[cu] = std::move(*retrained[cu]);
                }
                r.window_accuracy.push_back(mean);
            }
            measure_sharing(r, models, su.stem);
            runs.push_back(r);
        }
        double thief_mean = 0;
        for (double v : thief_predicted) thief_mean += v / static_cast<double>(thief_predicted.size());
        nlohmann::json m{
            {"cameras", cams}, {"thief_predicted", thief_mean}, {"fair_predicted", nlohmann::json::array()}};
        double to_match = -1;
        for (std::size_t i = 0; i < multipliers.size(); ++i) {
            const double f = fair_predicted[i] / static_cast<double>(thief_predicted.size());
            m["fair_predicted"].push_back({{"cpu", multipliers[i]}, {"accuracy", f}});
            if (to_match < 0 && f >= thief_mean - 1e-9) to_match = multipliers[i];
        }
        m["fair_cpu_to_match_thief"] = to_match < 0 ? nlohmann::json("> 4") : nlohmann::json(to_match);
        match.push_back(m);
    }
    std::fprintf(stderr, "\n");

    nlohmann::json j;
    j["mode"] = "simulated";
    report_runs(runs, j);
    report_profiles(profiles, "retrainings", "time", j);
    for (const auto& m : match)
        std::printf("%d cameras: fair needs %s x the CPU to match thief (section 7 score on the profiles)\n",
                    m["cameras"].get<int>(), m["fair_cpu_to_match_thief"].dump().c_str());

    const std::filesystem::path out(o.out);
    std::filesystem::create_directories(out);
    report_labels(su, o.windows, j);
    j["windows"] = o.windows;
    j["frames_per_window"] = o.frames;
    j["window_seconds"] = o.window_seconds;
    j["seed"] = o.seed;
    j["cpu_to_match"] = match;
    write_results(out, j, runs, t_start);
}

/// Thread CPU seconds one frame of `model` costs at batch 1 on one thread (the inference need).
inline double seconds_per_frame(const graph& model, const tensor<float>& frames) {
    onednn::use_threads(1);
    onednn::compiled_graph compiled(model, {.batch = 1, .threads = 1});
    const shape in = model.input_shape(), out = model.output_shape();
    tensor<float> src(dims{1, in.c, in.h, in.w}), dst(dims{1, out.c, out.h, out.w});
    const std::int64_t count = std::min<std::int64_t>(frames.extents()[0], 200);
    const auto cpu = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
    };
    for (std::int64_t i = 0; i < 20; ++i) {  // warm-up
        std::copy_n(frames.data() + i * in.numel(), in.numel(), src.data());
        compiled.run(src.view(), dst.view());
    }
    const double c0 = cpu();
    for (std::int64_t i = 0; i < count; ++i) {
        std::copy_n(frames.data() + i * in.numel(), in.numel(), src.data());
        compiled.run(src.view(), dst.view());
    }
    return (cpu() - c0) / static_cast<double>(count);
}

struct real_job_row {
    int cameras, window;
    std::string scheduler;
    experiment::real_job_report job;
    /// Whether the job had work all along, so it should use its whole share: an inference job that
    /// waited for frames more than 5% of its life, or a job whose share exceeded its threads, is not.
    bool busy;
};

/// Ekya's real mode (docs/ekya.md): each window's jobs run concurrently, each held to its share.
inline void run_real(options o) {
    const auto t_start = std::chrono::steady_clock::now();
    if (o.quick) {
        o.cameras = "2";
        o.windows = 3;
        o.frames = 256;
    }
    if (o.window_seconds <= 0) o.window_seconds = o.quick ? 5 : 10;
    const int cores = std::max(1, onednn::core_count());
    const double thread_share = 1.0 / cores;
    onednn::use_threads(1);
    setup su = prepare(o);
    const std::vector<ek::retrain_config> grid = config_grid(o.quick, su.stem);
    const ek::retrain_config fair_config{0, 1.0, 5};
    experiment::micro_profile_options mp;
    mp.seed = o.seed;
    const double frame_cost = seconds_per_frame(su.initial[0], su.streams[0].eval[0].images);
    std::fprintf(stderr, "[ekya] real mode on %d CPUs: one frame costs %.3f ms of CPU; windows of %.0f s\n",
                 cores, 1e3 * frame_cost, o.window_seconds);

    const ek::thief_scheduler thief;
    const ek::fair_scheduler fair(fair_config);
    const ek::no_retrain_scheduler none;
    const policy inference_only{"no-retrain", &none, {}};
    std::vector<run_result> runs;
    std::vector<profile_row> profiles;
    std::vector<real_job_row> jobs;
    nlohmann::json chunks = nlohmann::json::array();
    std::vector<double> delivered;

    for (int cams : su.camera_counts) {
        const auto cn = static_cast<std::size_t>(cams);
        const double full_share = 0.5 / cams;  // analysing every frame takes half a fair share
        experiment::real_window_options ro;
        ro.frames_per_second = full_share * cores / frame_cost;
        ro.training = mp;
        // Retraining data of window w at [w - 1]: the last window's, every earlier window's, and
        // the last window's validation split.
        std::vector<std::vector<train::dataset>> data(cn), history(cn), validation(cn);
        for (std::size_t c = 0; c < cn; ++c)
            for (int w = 1; w < o.windows; ++w) {
                data[c].push_back(retraining_data(su.streams[c], w, false));
                history[c].push_back(retraining_data(su.streams[c], w, true));
                validation[c].push_back(part(su.streams[c].train[static_cast<std::size_t>(w - 1)], true));
            }
        // Builds window w's scheduler view for `models`, with `pol`'s options priced.
        const auto build = [&](const policy& pol, const std::vector<graph>& models, int w,
                               std::vector<experiment::real_camera>& real,
                               std::vector<std::vector<experiment::micro_profile>>& profs) {
            ek::window win;
            win.seconds = o.window_seconds;
            real.clear();
            profs.assign(cn, {});
            onednn::use_threads(1);
            for (std::size_t c = 0; c < cn; ++c) {
                const auto& ev = su.streams[c].eval[static_cast<std::size_t>(w)];
                ek::camera cam = scheduler_view(su, c, models[c], w, full_share);
                experiment::real_camera rc{models[c], &ev.images, &ev.labels, nullptr, nullptr, {}};
                if (w > 0 && pol.allows) {
                    const auto last = static_cast<std::size_t>(w - 1);
                    for (const ek::retrain_config& cfg : grid) {
                        if (!pol.allows(cfg)) continue;
                        std::fprintf(stderr,
                                     "\r[ekya] %d cameras, %s, window %d, camera %zu: profiling %s   ", cams,
                                     pol.name.c_str(), w, c, ek::to_string(cfg).c_str());
                        profs[c].push_back(experiment::profile_config(
                            models[c], cfg.history ? history[c][last] : data[c][last], validation[c][last],
                            cfg, mp));
                        cam.options.push_back(profs[c].back().option(thread_share));
                        rc.configs.push_back(cfg);
                    }
                }
                win.cameras.push_back(cam);
                real.push_back(std::move(rc));
            }
            return win;
        };
        const auto record = [&](const std::string& sched_name, int w,
                                const experiment::real_window_result& r) {
            for (const auto& j : r.jobs) {
                const bool busy = (j.kind == "retraining" || j.waited_seconds <= 0.05 * j.wall_seconds) &&
                                  j.share_cpus() <= j.max_threads + 0.02 && j.wall_seconds > 0.5;
                jobs.push_back({cams, w, sched_name, j, busy});
            }
            nlohmann::json cj{{"cameras", cams},
                              {"scheduler", sched_name},
                              {"window", w},
                              {"cameras_chunks", nlohmann::json::array()}};
            for (const auto& c : r.cameras)
                cj["cameras_chunks"].push_back({{"chunk_accuracy", c.chunk_accuracy},
                                                {"accuracy", c.accuracy},
                                                {"analysed_fraction", c.analysed_fraction},
                                                {"retrained_at", c.retrained_at}});
            nlohmann::json shares = nlohmann::json::array();
            for (const auto& [t, a] : r.allocations) {
                nlohmann::json row{{"seconds", t},
                                   {"inference", nlohmann::json::array()},
                                   {"training", nlohmann::json::array()}};
                for (const auto& s : a) {
                    row["inference"].push_back(s.inference);
                    row["training"].push_back(s.training);
                }
                shares.push_back(row);
            }
            cj["allocations"] = shares;
            // What all of this window's jobs used together, against the cores they shared: less
            // than `cores` where jobs ran short of work (inference waiting for frames) or another
            // user's load took CPU.
            double cpu = 0;
            for (const auto& job : r.jobs) cpu += job.cpu_seconds;
            cj["delivered_cpus"] = cpu / o.window_seconds;
            delivered.push_back(cpu / o.window_seconds);
            chunks.push_back(cj);
        };
        const auto mean_accuracy = [](const experiment::real_window_result& r) {
            double m = 0;
            for (const auto& c : r.cameras) m += c.accuracy / static_cast<double>(r.cameras.size());
            return m;
        };

        // Window 0 never retrains: every scheduler gives equal inference shares, so it runs once.
        std::vector<graph> models0(su.initial.begin(), su.initial.begin() + cams);
        std::vector<experiment::real_camera> real;
        std::vector<std::vector<experiment::micro_profile>> profs;
        ek::window win0 = build(inference_only, models0, 0, real, profs);
        std::fprintf(stderr, "\r[ekya] %d cameras, window 0 (inference only), %.0f s                       ",
                     cams, o.window_seconds);
        const auto r0 = experiment::run_real_window(none, win0, real, cores, ro);
        record("all", 0, r0);
        const double acc0 = mean_accuracy(r0);

        for (const policy& pol : policies(thief, fair, none, fair_config, su.stem)) {
            run_result rr{cams, pol.name, {acc0}};
            std::vector<graph> models = models0;
            for (int w = 1; w < o.windows; ++w) {
                ek::window win = build(pol, models, w, real, profs);
                for (std::size_t c = 0; c < cn; ++c) {
                    real[c].train = &data[c][static_cast<std::size_t>(w - 1)];
                    real[c].history = &history[c][static_cast<std::size_t>(w - 1)];
                    real[c].validation = &validation[c][static_cast<std::size_t>(w - 1)];
                }
                std::fprintf(stderr,
                             "\r[ekya] %d cameras, %s, window %d: running %.0f s                      ", cams,
                             pol.name.c_str(), w, o.window_seconds);
                auto r = experiment::run_real_window(*pol.scheduler, win, real, cores, ro);
                record(pol.name, w, r);
                rr.window_accuracy.push_back(mean_accuracy(r));
                for (std::size_t c = 0; c < cn; ++c) {
                    auto& rc = r.cameras[c];
                    if (!rc.option) continue;
                    const auto& p = profs[c][*rc.option];
                    const auto job = std::find_if(r.jobs.begin(), r.jobs.end(), [&](const auto& j) {
                        return j.kind == "retraining" && j.camera == win.cameras[c].name;
                    });
                    if (rc.retrained && job != r.jobs.end())
                        profiles.push_back({cams, w, pol.name, win.cameras[c].name, ek::to_string(p.config),
                                            p.start_accuracy, p.predicted_accuracy, rc.retrained->accuracy,
                                            p.seconds_per_epoch * p.config.epochs + p.startup_seconds,
                                            job->cpu_seconds});
                    if (rc.retrained) models[c] = std::move(rc.retrained->model);
                }
            }
            measure_sharing(rr, models, su.stem);
            runs.push_back(rr);
        }
    }
    std::fprintf(stderr, "\n");

    nlohmann::json j;
    report_runs(runs, j);
    // CPU against share: a busy job should use its share within 0.05 CPU; a job without work
    // (inference waiting for frames) or with more share than threads can only stay below it.
    int busy = 0, busy_within = 0, idle = 0, idle_over = 0, over_share = 0;
    double busy_worst = 0, idle_worst_over = 0;
    for (const real_job_row& r : jobs) {
        const double diff = r.job.cpus() - r.job.share_cpus();
        if (r.busy) {
            ++busy;
            busy_within += std::abs(diff) <= 0.05 ? 1 : 0;
            busy_worst = std::max(busy_worst, std::abs(diff));
            over_share += diff > 0.05 ? 1 : 0;
        } else if (r.job.wall_seconds > 0.5) {
            ++idle;
            idle_over += diff > 0.05 ? 1 : 0;
            idle_worst_over = std::max(idle_worst_over, diff);
        }
        j["jobs"].push_back({{"cameras", r.cameras},
                             {"window", r.window},
                             {"scheduler", r.scheduler},
                             {"camera", r.job.camera},
                             {"kind", r.job.kind},
                             {"wall_seconds", r.job.wall_seconds},
                             {"cpu_seconds", r.job.cpu_seconds},
                             {"cpus", r.job.cpus()},
                             {"share_cpus", r.job.share_cpus()},
                             {"cpus_minus_share", r.job.cpus() - r.job.share_cpus()},
                             {"waited_seconds", r.job.waited_seconds},
                             {"threads", r.job.max_threads},
                             {"finished", r.job.finished},
                             {"busy", r.busy}});
    }
    double delivered_mean = 0;
    for (double d : delivered) delivered_mean += d / static_cast<double>(delivered.size());
    std::printf(
        "this run's jobs used %.2f of the box's %d CPUs on average per window (the rest: jobs short of "
        "work, or other processes)\n",
        delivered_mean, cores);
    std::printf(
        "CPU vs share: %d busy jobs, %d within 0.05 CPU of their share (worst |cpu - share| %.3f); "
        "%d jobs short of work, %d above their share by > 0.05 (worst %.3f)\n",
        busy, busy_within, busy_worst, idle, idle_over, idle_worst_over);
    report_profiles(profiles, "retrainings that finished", "CPU-time", j);
    const std::filesystem::path out(o.out);
    std::filesystem::create_directories(out);
    j["mode"] = "real";
    report_labels(su, o.windows, j);
    j["cores"] = cores;
    j["frame_cpu_seconds"] = frame_cost;
    j["windows"] = o.windows;
    j["frames_per_window"] = o.frames;
    j["window_seconds"] = o.window_seconds;
    j["seed"] = o.seed;
    j["cpu_vs_share"] = {{"busy_jobs", busy},
                         {"busy_within_0_05", busy_within},
                         {"busy_worst_abs_diff", busy_worst},
                         {"short_of_work_jobs", idle},
                         {"short_of_work_over_0_05", idle_over},
                         {"jobs_over_share_by_0_05", idle_over + over_share},
                         {"delivered_cpus_mean", delivered_mean}};
    j["windows_detail"] = chunks;
    write_results(out, j, runs, t_start);
}

}  // namespace ekya_detail

/// Adds the `ekya` subcommand to `app`.
inline void register_ekya_command(CLI::App& app) {
    auto opt = std::make_shared<ekya_detail::options>();
    CLI::App* sub =
        app.add_subcommand("ekya", "Continuous retraining beside inference: thief, fair, no-retrain (Ekya)");
    sub->add_option("--cameras", opt->cameras, "Camera counts, comma-separated")->capture_default_str();
    sub->add_option("--windows", opt->windows, "Retraining windows (window 0 never retrains)")
        ->capture_default_str();
    sub->add_option("--frames", opt->frames, "Frames per camera and window")->capture_default_str();
    sub->add_option("--window-seconds", opt->window_seconds,
                    "T: length of a window (0: simulated 20, real 10, real --quick 5)")
        ->capture_default_str();
    sub->add_option("--seed", opt->seed, "Seed of the streams and the training")->capture_default_str();
    sub->add_option("--drift", opt->drift, "Drift schedule (JSON)")->capture_default_str();
    sub->add_option("--base", opt->base, "Cameras' base model (`stemshare train ekya`)")
        ->capture_default_str();
    sub->add_option("--stem", opt->stem,
                    "Branch point of the cameras' shared stem (window-0 models are fine-tuned after it)")
        ->capture_default_str();
    sub->add_option("--golden", opt->golden,
                    "Golden model that labels the retraining frames (`stemshare train ekya`), or 'truth' "
                    "for ground-truth labels")
        ->capture_default_str();
    sub->add_option("--data", opt->data, "Fashion-MNIST folder")->capture_default_str();
    sub->add_option("--out", opt->out, "Output folder (results.json, ekya.png)")->capture_default_str();
    sub->add_option(
           "--mode", opt->mode,
           "real: jobs run concurrently, each held to its share; simulated: the score on measured profiles")
        ->check(CLI::IsMember({"real", "simulated"}))
        ->capture_default_str();
    sub->add_flag("--quick", opt->quick,
                  "2 cameras, 3 windows, 256 frames, 9 configurations (real: 5 s windows)");
    sub->callback([opt] {
        if (opt->mode == "simulated")
            ekya_detail::run_simulated(*opt);
        else
            ekya_detail::run_real(*opt);
    });
}

}  // namespace stemshare::tools
