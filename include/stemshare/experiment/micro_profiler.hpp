#pragma once
/// \file
/// Ekya's micro-profiler (docs/ekya.md; link `stemshare::eigen`): a retraining configuration
/// runs a few epochs on a small subsample of its own data, its accuracy curve (Optimus form) is
/// fitted and extrapolated to the configuration's epochs, and its time per epoch is scaled to the
/// configuration's data. `retrain` runs the configuration in full, so the prediction can be checked.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/ekya/optimus_curve.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/sched/ekya/retrain_option.hpp>
#include <stemshare/train/dataset.hpp>
#include <stemshare/train/evaluate.hpp>
#include <stemshare/train/fine_tune.hpp>

namespace stemshare::experiment {

/// How the micro-profiler and the full retraining train (Ekya: 5 epochs on 10% of the data).
struct micro_profile_options {
    int profile_epochs = 5;
    double profile_fraction = 0.1;  ///< of the configuration's own subsample
    /// The profile trains on at least this many batches per epoch. Ekya's 10% of a large window is
    /// many batches; 10% of a few hundred frames is one, and 5 epochs of 2 batches (10 SGD steps)
    /// predicted exactly the start accuracy in half of the profiles where the full retraining then
    /// gained (docs/ekya.md). 4 batches halved the prediction error.
    std::int64_t min_profile_batches = 4;
    std::int64_t batch_size = 32;
    float learning_rate = 0.02F;
    std::uint64_t seed = 1;
    double horizon = 1000.0;  ///< epochs of the fit's anchor (ekya::with_anchor)
    /// Called after every training step of `retrain` (a CPU share gate's throttle; may throw).
    std::function<void()> on_step;
};

/// What profiling one configuration measured and predicts. Times are the process's CPU seconds
/// (CLOCK_PROCESS_CPUTIME_ID), so other users' load on the box does not inflate them: run it on one
/// thread and they are the wall seconds at a share of one core; `option()` scales them to share 1.0
/// with that share (1 / cores).
struct micro_profile {
    sched::ekya::retrain_config config;
    double start_accuracy = 0.0;
    std::vector<ekya::epoch_accuracy> points;  ///< accuracy after each profiled epoch
    double predicted_accuracy = 0.0;           ///< at config.epochs (the start accuracy if the fit failed)
    bool fit_converged = false;
    double seconds_per_epoch = 0.0;  ///< predicted for the configuration's data, at the measured share
    double startup_seconds = 0.0;    ///< caching the frozen stem's outputs (scaled) + building the trainer
    double profile_seconds = 0.0;    ///< what profiling itself cost
    std::int64_t profile_items = 0;  ///< frames each profiled epoch trained on

    /// The scheduler's view, with times at share 1.0 given the share the profile ran at.
    [[nodiscard]] sched::ekya::retrain_option option(double measured_share) const {
        return {config, predicted_accuracy, seconds_per_epoch * measured_share,
                startup_seconds * measured_share};
    }
};

/// A full retraining's outcome.
struct retrain_result {
    graph model;
    double accuracy = 0.0;           ///< on the validation set
    double seconds = 0.0;            ///< CPU seconds, stem caching included
    double seconds_per_epoch = 0.0;  ///< CPU seconds, training only
};

namespace detail {

inline train::dataset take(const train::dataset& data, double fraction, std::int64_t minimum,
                           std::uint64_t seed) {
    const std::int64_t n = data.size();
    const std::int64_t k =
        std::min(n, std::max(minimum, static_cast<std::int64_t>(fraction * static_cast<double>(n))));
    const auto order = train::seeded_permutation(n, seed);
    std::vector<std::int64_t> items(order.begin(), order.begin() + k);
    std::sort(items.begin(), items.end());
    return train::select(data.inputs, data.labels, items);
}

/// CPU seconds of the whole process (all its threads).
inline double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// The training part of one fine_tune call's `cpu` CPU seconds, in the proportion of its wall
/// clocks (the rest is stem caching, slicing the graph and building the trainer).
inline double training_cpu(double cpu, double call_wall, double train_wall) {
    return call_wall > 0 ? cpu * std::clamp(train_wall / call_wall, 0.0, 1.0) : cpu;
}

/// Wall seconds since `start`.
inline double wall_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace detail

/// Profiles `config` for `model` (bound, logits out) on `data` (labels from the golden model),
/// scoring on `validation`. Throws `stemshare::error` if the data cannot fill two batches.
[[nodiscard]] inline micro_profile profile_config(const graph& model, const train::dataset& data,
                                                  const train::dataset& validation,
                                                  const sched::ekya::retrain_config& config,
                                                  const micro_profile_options& o = {}) {
    require(config.train_from < model.size(), "micro-profiler", "train_from is past the model's last layer");
    const train::dataset own = detail::take(data, config.subsample, 2 * o.batch_size, o.seed);
    require(o.min_profile_batches >= 2, "micro-profiler", "min_profile_batches must be at least 2");
    const train::dataset sample =
        detail::take(own, o.profile_fraction, o.min_profile_batches * o.batch_size, o.seed + 1);
    require(sample.size() >= 2 * o.batch_size, "micro-profiler",
            "needs at least two batches of data, got " + std::to_string(sample.size()) + " items");
    micro_profile p;
    p.config = config;
    p.profile_items = sample.size();
    const double t0 = detail::cpu_seconds();
    p.start_accuracy = train::accuracy(train::predict(model, validation.inputs), validation.labels);
    graph current = model;
    // Each call: its CPU, the stem-caching share of it, and its training steps. The steps after a
    // call's first run at the rate a full retraining's steps do; the first also builds the trainer's
    // primitives, which a full retraining pays once, not once per epoch of data.
    struct call {
        double cpu = 0, stem = 0;
        std::size_t steps = 0;
    };
    std::vector<call> calls;
    std::vector<double> steady_steps;
    for (int e = 1; e <= o.profile_epochs; ++e) {
        train::fine_tune_options f;
        f.num_frozen = config.train_from;
        f.fit.epochs = 1;
        f.fit.batch_size = o.batch_size;
        f.fit.seed = o.seed + static_cast<std::uint64_t>(e);
        f.fit.cosine_schedule = false;  // one epoch at a time: a schedule per call would restart
        f.fit.optimiser.learning_rate = o.learning_rate;
        f.network.batch_norm = train::batch_norm_mode::batch_statistics;
        std::vector<double> step_ends;
        f.fit.on_step = [&] { step_ends.push_back(detail::cpu_seconds()); };
        const double c0 = detail::cpu_seconds();
        const auto w0 = std::chrono::steady_clock::now();
        train::fine_tune_result r = train::fine_tune(current, sample, f);
        const double cpu = detail::cpu_seconds() - c0;
        const double wall = detail::wall_since(w0);
        calls.push_back(
            {cpu, wall > 0 ? cpu * std::clamp(r.stem_seconds / wall, 0.0, 1.0) : 0.0, step_ends.size()});
        for (std::size_t i = 1; i < step_ends.size(); ++i)
            steady_steps.push_back(step_ends[i] - step_ends[i - 1]);
        current = std::move(r.model);
        p.points.push_back({static_cast<double>(e),
                            train::accuracy(train::predict(current, validation.inputs), validation.labels)});
    }
    p.profile_seconds = detail::cpu_seconds() - t0;
    std::sort(steady_steps.begin(), steady_steps.end());
    const double step = std::max(1e-9, steady_steps.empty() ? 0.0 : steady_steps[steady_steps.size() / 2]);
    double fixed = std::numeric_limits<double>::infinity();  // the cheapest call: caches warm
    for (const call& c : calls)
        fixed = std::min(fixed, std::max(0.0, c.cpu - c.stem - step * static_cast<double>(c.steps)));
    const double scale = static_cast<double>(own.size()) / static_cast<double>(sample.size());
    p.seconds_per_epoch = step * static_cast<double>(own.size() / o.batch_size);
    p.startup_seconds = calls.back().stem * scale + fixed;
    try {
        const auto curve = ekya::fit_optimus(ekya::with_anchor(p.start_accuracy, p.points, o.horizon));
        p.fit_converged = curve.converged();
        p.predicted_accuracy = curve.predict_or(config.epochs, p.start_accuracy);
    } catch (const error&) {
        p.predicted_accuracy = p.start_accuracy;  // Ekya's fallback when the fit fails
    }
    return p;
}

/// Runs `config` in full (same recipe as the profiler, a cosine schedule over all its epochs).
[[nodiscard]] inline retrain_result retrain(const graph& model, const train::dataset& data,
                                            const train::dataset& validation,
                                            const sched::ekya::retrain_config& config,
                                            const micro_profile_options& o = {}) {
    const train::dataset own = detail::take(data, config.subsample, 2 * o.batch_size, o.seed);
    const double t0 = detail::cpu_seconds();
    const auto w0 = std::chrono::steady_clock::now();
    train::fine_tune_options f;
    f.num_frozen = config.train_from;
    f.fit.epochs = config.epochs;
    f.fit.batch_size = o.batch_size;
    f.fit.seed = o.seed;
    f.fit.cosine_schedule = false;
    f.fit.optimiser.learning_rate = o.learning_rate;
    f.network.batch_norm = train::batch_norm_mode::batch_statistics;
    f.fit.on_step = o.on_step;
    train::fine_tune_result r = train::fine_tune(model, own, f);
    const double seconds = detail::cpu_seconds() - t0;
    const double trained = detail::training_cpu(seconds, detail::wall_since(w0), r.history.seconds);
    const double accuracy = train::accuracy(train::predict(r.model, validation.inputs), validation.labels);
    return {std::move(r.model), accuracy, seconds, trained / config.epochs};
}

}  // namespace stemshare::experiment
