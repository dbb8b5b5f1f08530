#pragma once
// `stemshare ekya`: continuous retraining beside inference (docs/ekya.md). The real mode (default)
// runs each window's inference and retraining jobs concurrently, each held to its share
// (experiment/ekya_real_window.hpp). The simulated mode: drifting Fashion-MNIST cameras
// (tools/ekya/drift.json); per window every camera's configurations are micro-profiled on its current model,
// the scheduler allocates on those profiles, and the chosen retrainings are then run in full so the window is
// scored with what they really reached and really took (the section 7 score on measured outcomes). Not yet: a
// golden model: retraining uses ground-truth labels.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <fashion/dataset.hpp>
#include <stemshare/backend/onednn/threading.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/experiment/drift_stream.hpp>
#include <stemshare/experiment/ekya_real_window.hpp>
#include <stemshare/experiment/micro_profiler.hpp>
#include <stemshare/sched/ekya/fair.hpp>
#include <stemshare/sched/ekya/no_retrain.hpp>
#include <stemshare/sched/ekya/score.hpp>
#include <stemshare/sched/ekya/thief.hpp>
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

/// One camera's frames: retraining data (train split) and scored frames (test split) per window.
struct camera_stream {
    std::vector<experiment::window_frames> train, eval;
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
    std::string camera, config;
    double start, predicted, reached, predicted_s, measured_s;
};

struct run_result {
    int cameras;
    std::string scheduler;
    std::vector<double> window_accuracy;  // mean over cameras, window 0 first
};

/// Mean accuracy over the retraining windows (1..): window 0 is inference only, the same for all.
inline double retraining_mean(const run_result& r) {
    double mean = 0;
    for (std::size_t w = 1; w < r.window_accuracy.size(); ++w) mean += r.window_accuracy[w];
    return mean / static_cast<double>(r.window_accuracy.size() - 1);
}

/// Prints the accuracy table and puts the same rows in `j["runs"]`.
inline void report_runs(const std::vector<run_result>& runs, nlohmann::json& j) {
    std::printf("%-8s %-11s %s  %s\n", "cameras", "scheduler", "mean acc (windows 1..)", "per window");
    for (const run_result& r : runs) {
        const double mean = retraining_mean(r);
        std::printf("%-8d %-11s %.4f                 ", r.cameras, r.scheduler.c_str(), mean);
        for (double v : r.window_accuracy) std::printf(" %.3f", v);
        std::printf("\n");
        j["runs"].push_back({{"cameras", r.cameras},
                             {"scheduler", r.scheduler},
                             {"window_accuracy", r.window_accuracy},
                             {"mean_accuracy", mean}});
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

inline graph initial_model(const experiment::window_frames& w0, std::uint64_t seed) {
    graph g = zoo::fashion_mobilenet.to_graph();
    train::initialise(g, seed);
    train::network net(std::move(g), {.batch_norm = train::batch_norm_mode::batch_statistics});
    train::fit_options f;
    f.epochs = 4;
    f.batch_size = 32;
    f.seed = seed;
    (void)train::fit(net, {w0.images, w0.labels}, f);
    return net.model();
}

inline train::dataset part(const experiment::window_frames& w, bool validation) {
    const auto n = static_cast<std::int64_t>(w.labels.size());
    const std::int64_t cut = n * 8 / 10;  // Ekya's 80/20 split
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
};

inline setup prepare(const options& o) {
    setup su;
    su.camera_counts = split_ints(o.cameras);
    require(!su.camera_counts.empty(), "--cameras", "no camera count given");
    for (int c : su.camera_counts) require(c > 0, "--cameras", "camera counts must be positive");
    require(o.windows >= 2, "--windows", "needs at least 2 windows (window 0 never retrains)");
    require(o.frames >= 160, "--frames", "needs at least 160 frames per window");
    require(o.window_seconds > 0, "--window-seconds", "must be positive");
    const int max_cameras = *std::max_element(su.camera_counts.begin(), su.camera_counts.end());
    su.schedule = experiment::load_drift_schedule(o.drift);
    su.schedule.frames_per_window = o.frames;
    const auto train_split = fashion::load_dataset(fashion::dataset_split::train, o.data);
    const auto test_split = fashion::load_dataset(fashion::dataset_split::test, o.data);
    const std::vector<std::int32_t> train_labels(train_split.labels.begin(), train_split.labels.end());
    const std::vector<std::int32_t> test_labels(test_split.labels.begin(), test_split.labels.end());
    su.streams.resize(static_cast<std::size_t>(max_cameras));
    for (int c = 0; c < max_cameras; ++c) {
        auto& s = su.streams[static_cast<std::size_t>(c)];
        for (int w = 0; w < o.windows; ++w) {
            s.train.push_back(experiment::make_window(train_split.images, train_labels, su.schedule,
                                                      static_cast<std::size_t>(c), w, o.windows, o.seed));
            s.eval.push_back(experiment::make_window(test_split.images, test_labels, su.schedule,
                                                     static_cast<std::size_t>(c), w, o.windows, o.seed + 1));
        }
        std::fprintf(stderr, "[ekya] camera %d: training its window-0 model\n", c);
        su.initial.push_back(initial_model(s.train[0], o.seed + static_cast<std::uint64_t>(c)));
    }
    return su;
}

/// The retraining configurations both modes price: head only and all layers x subsample x epochs.
inline std::vector<ek::retrain_config> config_grid(bool quick) {
    const graph probe = zoo::fashion_mobilenet.to_graph();
    const std::size_t head = probe.size() - 1;
    std::vector<ek::retrain_config> grid;
    for (std::size_t k : {head, std::size_t{0}})
        for (double s : quick ? std::vector<double>{1.0} : std::vector<double>{0.5, 1.0})
            for (int e : {5, 15}) grid.push_back({k, s, e});
    return grid;
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
    auto& schedule = su.schedule;
    auto& streams = su.streams;
    auto& initial = su.initial;
    const std::vector<ek::retrain_config> grid = config_grid(o.quick);
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
    const std::vector<const ek::scheduler*> schedulers{&thief, &fair, &none};

    for (int cams : camera_counts) {
        const double full_share = 0.5 / cams;  // inference of every frame takes half a fair share
        std::vector<double> thief_predicted, fair_predicted(multipliers.size(), 0.0);
        for (const ek::scheduler* sch : schedulers) {
            run_result r{cams, sch->name(), {}};
            std::vector<graph> models(initial.begin(), initial.begin() + cams);
            for (int w = 0; w < o.windows; ++w) {
                ek::window win;
                win.seconds = o.window_seconds;
                std::vector<std::vector<experiment::micro_profile>> profs(static_cast<std::size_t>(cams));
                for (int c = 0; c < cams; ++c) {
                    const auto cu = static_cast<std::size_t>(c);
                    const auto& ev = streams[cu].eval[static_cast<std::size_t>(w)];
                    const auto predicted = train::predict(models[cu], ev.images);
                    ek::camera cam{schedule.cameras[cu % schedule.cameras.size()].name + std::to_string(c),
                                   train::accuracy(predicted, ev.labels),
                                   measured_curve(predicted, ev.labels, full_share),
                                   {},
                                   std::nullopt,
                                   0.0};
                    if (w > 0 && sch != &none) {
                        const auto& prev = streams[cu].train[static_cast<std::size_t>(w - 1)];
                        const train::dataset data = part(prev, false), validation = part(prev, true);
                        for (const ek::retrain_config& cfg : grid) {
                            if (sch == &fair && !(cfg == fair_config)) continue;
                            std::fprintf(stderr,
                                         "\r[ekya] %d cameras, %s, window %d, camera %d: profiling %s   ",
                                         cams, sch->name().c_str(), w, c, ek::to_string(cfg).c_str());
                            profs[cu].push_back(
                                experiment::profile_config(models[cu], data, validation, cfg, mp));
                            cam.options.push_back(profs[cu].back().option(thread_share));
                        }
                    }
                    win.cameras.push_back(cam);
                }
                if (w == 0 || sch == &none) {
                    r.window_accuracy.push_back(ek::score(win, none.allocate(win)));
                    continue;
                }
                const ek::allocation a = sch->allocate(win);
                ek::validate(a, win);
                if (sch == &thief) {
                    thief_predicted.push_back(ek::score(win, a));
                    for (std::size_t m = 0; m < multipliers.size(); ++m) {
                        ek::window big = win;
                        big.box = multipliers[m];
                        fair_predicted[m] += ek::score(big, fair.allocate(big));
                    }
                }
                // Run the chosen retrainings in full and score the window with what they reached.
                ek::window actual = win;
                std::vector<std::optional<graph>> retrained(static_cast<std::size_t>(cams));
                for (int c = 0; c < cams; ++c) {
                    const auto cu = static_cast<std::size_t>(c);
                    if (!a[cu].option) continue;
                    const auto& p = profs[cu][*a[cu].option];
                    const auto& prev = streams[cu].train[static_cast<std::size_t>(w - 1)];
                    std::fprintf(stderr, "\r[ekya] %d cameras, %s, window %d, camera %d: retraining %s   ",
                                 cams, sch->name().c_str(), w, c, ek::to_string(p.config).c_str());
                    auto full =
                        experiment::retrain(models[cu], part(prev, false), part(prev, true), p.config, mp);
                    const auto& ev = streams[cu].eval[static_cast<std::size_t>(w)];
                    const double reached = train::accuracy(train::predict(full.model, ev.images), ev.labels);
                    profiles.push_back({cams, w, win.cameras[cu].name, ek::to_string(p.config),
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
    j["labels"] = "ground truth (no golden model yet)";
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
    const std::vector<ek::retrain_config> grid = config_grid(o.quick);
    const ek::retrain_config fair_config{0, 1.0, 5};
    experiment::micro_profile_options mp;
    mp.seed = o.seed;
    const double frame_cost = seconds_per_frame(su.initial[0], su.streams[0].eval[0].images);
    std::fprintf(stderr, "[ekya] real mode on %d CPUs: one frame costs %.3f ms of CPU; windows of %.0f s\n",
                 cores, 1e3 * frame_cost, o.window_seconds);

    const ek::thief_scheduler thief;
    const ek::fair_scheduler fair(fair_config);
    const ek::no_retrain_scheduler none;
    const std::vector<const ek::scheduler*> schedulers{&thief, &fair, &none};
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
        // Builds window w's scheduler view for `models`, with `sch`'s options priced.
        const auto build = [&](const ek::scheduler* sch, const std::vector<graph>& models, int w,
                               std::vector<experiment::real_camera>& real,
                               std::vector<std::vector<experiment::micro_profile>>& profs) {
            ek::window win;
            win.seconds = o.window_seconds;
            real.clear();
            profs.assign(cn, {});
            onednn::use_threads(1);
            for (std::size_t c = 0; c < cn; ++c) {
                const auto& ev = su.streams[c].eval[static_cast<std::size_t>(w)];
                const auto predicted = train::predict(models[c], ev.images);
                ek::camera cam{su.schedule.cameras[c % su.schedule.cameras.size()].name + std::to_string(c),
                               train::accuracy(predicted, ev.labels),
                               measured_curve(predicted, ev.labels, full_share),
                               {},
                               std::nullopt,
                               0.0};
                experiment::real_camera rc{models[c], &ev.images, &ev.labels, nullptr, nullptr, {}};
                if (w > 0 && sch != &none) {
                    const auto& prev = su.streams[c].train[static_cast<std::size_t>(w - 1)];
                    for (const ek::retrain_config& cfg : grid) {
                        if (sch == &fair && !(cfg == fair_config)) continue;
                        std::fprintf(stderr,
                                     "\r[ekya] %d cameras, %s, window %d, camera %zu: profiling %s   ", cams,
                                     sch->name().c_str(), w, c, ek::to_string(cfg).c_str());
                        profs[c].push_back(experiment::profile_config(models[c], part(prev, false),
                                                                      part(prev, true), cfg, mp));
                        cam.options.push_back(profs[c].back().option(thread_share));
                        rc.configs.push_back(cfg);
                    }
                }
                win.cameras.push_back(cam);
                real.push_back(std::move(rc));
            }
            return win;
        };
        std::vector<std::vector<train::dataset>> data(cn), validation(cn);
        for (std::size_t c = 0; c < cn; ++c)
            for (int w = 0; w + 1 < o.windows; ++w) {
                data[c].push_back(part(su.streams[c].train[static_cast<std::size_t>(w)], false));
                validation[c].push_back(part(su.streams[c].train[static_cast<std::size_t>(w)], true));
            }
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
        ek::window win0 = build(&none, models0, 0, real, profs);
        std::fprintf(stderr, "\r[ekya] %d cameras, window 0 (inference only), %.0f s                       ",
                     cams, o.window_seconds);
        const auto r0 = experiment::run_real_window(none, win0, real, cores, ro);
        record("all", 0, r0);
        const double acc0 = mean_accuracy(r0);

        for (const ek::scheduler* sch : schedulers) {
            run_result rr{cams, sch->name(), {acc0}};
            std::vector<graph> models = models0;
            for (int w = 1; w < o.windows; ++w) {
                ek::window win = build(sch, models, w, real, profs);
                for (std::size_t c = 0; c < cn; ++c) {
                    real[c].train = &data[c][static_cast<std::size_t>(w - 1)];
                    real[c].validation = &validation[c][static_cast<std::size_t>(w - 1)];
                }
                std::fprintf(stderr,
                             "\r[ekya] %d cameras, %s, window %d: running %.0f s                      ", cams,
                             sch->name().c_str(), w, o.window_seconds);
                auto r = experiment::run_real_window(*sch, win, real, cores, ro);
                record(sch->name(), w, r);
                rr.window_accuracy.push_back(mean_accuracy(r));
                for (std::size_t c = 0; c < cn; ++c) {
                    auto& rc = r.cameras[c];
                    if (!rc.option) continue;
                    const auto& p = profs[c][*rc.option];
                    const auto job = std::find_if(r.jobs.begin(), r.jobs.end(), [&](const auto& j) {
                        return j.kind == "retraining" && j.camera == win.cameras[c].name;
                    });
                    if (rc.retrained && job != r.jobs.end())
                        profiles.push_back({cams, w, win.cameras[c].name, ek::to_string(p.config),
                                            p.start_accuracy, p.predicted_accuracy, rc.retrained->accuracy,
                                            p.seconds_per_epoch * p.config.epochs + p.startup_seconds,
                                            job->cpu_seconds});
                    if (rc.retrained) models[c] = std::move(rc.retrained->model);
                }
            }
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
    j["labels"] = "ground truth (no golden model yet)";
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
    sub->add_option("--data", opt->data, "Fashion-MNIST folder")->capture_default_str();
    sub->add_option("--out", opt->out, "Output folder (results.json, ekya.png)")->capture_default_str();
    sub->add_option(
           "--mode", opt->mode,
           "real: jobs run concurrently, each held to its share; simulated: the score on measured profiles")
        ->check(CLI::IsMember({"real", "simulated"}))
        ->capture_default_str();
    sub->add_flag("--quick", opt->quick,
                  "2 cameras, 3 windows, 256 frames, 4 configurations (real: 5 s windows)");
    sub->callback([opt] {
        if (opt->mode == "simulated")
            ekya_detail::run_simulated(*opt);
        else
            ekya_detail::run_real(*opt);
    });
}

}  // namespace stemshare::tools
