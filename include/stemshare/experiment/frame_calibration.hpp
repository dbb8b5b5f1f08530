#pragma once
/// \file
/// `experiment::calibrate_frames`: the frame cost model fitted to frames the live executor runs,
/// in the regime it runs them (an idle gap before every frame, one stem and many suffixes).
///
/// A latency table times one model after an idle gap; a live frame of many apps runs a chain of
/// stem steps and one suffix per app, each a compiled segment of its own. What that costs beyond
/// the table: the live first run of a layer after the gap is colder or warmer than the
/// profiler's (it depends on the gap and on what ran in it), a further app's copy costs what
/// `profile_options::second_copy` times only roughly, and every step pays its call, the reorders
/// at its boundaries and the executor's bookkeeping, which no layer of a whole-model table does.
/// So the live frame time is modelled as
///
///     first_scale x (table time of each layer's first run in the frame)
///   + further_scale x (table time of every further copy past the entry block: second-copy
///                      times when profiled)
///   + entry_further_scale x (the same for the entry block, the layers before the first branch
///                      point: the copies of apps at branch point 0, which read the frame)
///   + step_seconds x (steps run: stem steps + suffixes, `frame_work::steps`)
///
/// The entry block has its own number because the table charges its further copies far above
/// what they cost live: fitted to 18 configurations on this box (two runs of an uncommitted
/// diagnostic, docs/experiment.md), one scale for all further copies left frames of ten whole
/// apps and of ten apps under the last stem 9-11% above the fit and ten apps under an early or
/// middle stem 5-9% below (rms 6.1-6.5%, leave-one-out 8%); the entry block's own scale (fitted
/// to about 0) brought that to 2.4-3.1% (leave-one-out 3.1-4.0%), and fitted to the seven default
/// configurations only it predicted the eleven others with rms 3.0-3.4% (worst 5.3%), against
/// 5.2-6.7% (worst 10.7%) with one scale. Configurations in which no app copies the entry block
/// say nothing about it: the fit then charges its copies `further_scale`.
///
/// The four numbers are fitted (least squares on relative error, none negative) to the
/// median frame times of a few configurations run on a real `runtime::executor`: one app, one
/// under a stem, many apps without a stem, under a middle and under the last stem, and many apps
/// over a mix of branch points as plans have them (or the caller's configurations), timed
/// round robin so that the box's drifting speed is spread over all of them. The configurations are
/// the base model with every layer from the branch point on re-drawn per app (as fine-tuning
/// does), so the stem trie shares exactly the stem. `apply` writes the fit into a table
/// (`sweep_input::step_seconds` takes the step cost), so planners, replays and burst fitting
/// all charge it; a live run on another segment of the stream checks it.

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/replay.hpp>
#include <stemshare/experiment/sweep.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/graph/redrawn_suffix.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::experiment {

struct frame_calibration_options {
    /// oneDNN threads per step, as the live runner uses.
    int threads = 1;
    /// Idle seconds before every timed frame. Frame costs rise with the gap (one measurement with an
    /// uncommitted diagnostic, ten apps, 2-core box shared with builds: 90 us after 10 ms, 304 us
    /// after 67 ms, 328 us after 250 ms); the default is the gap before a frame of apps at about
    /// 4 of 15 fps. Frames after much longer gaps (apps at 0.1 fps) are not fitted exactly.
    double gap_seconds = 0.25;
    /// Apps in the many-app configurations.
    std::size_t apps = 10;
    /// Timed frames per configuration (the median is fitted), after `warmup` untimed ones.
    std::size_t frames = 15;
    std::size_t warmup = 3;
    /// Seed of the re-drawn suffix weights and of the input frame.
    std::uint64_t seed = 1;
    /// The configurations to run, each the branch points of its apps (one app per entry). Empty:
    /// the seven of the file comment.
    std::vector<std::vector<std::size_t>> configurations{};
};

/// One configuration's measured median frame and its parts by the table.
struct frame_calibration_point {
    /// The deepest app's branch point, and the number of apps.
    std::size_t num_frozen = 0;
    std::size_t apps = 0;
    /// Every app's branch point.
    std::vector<std::size_t> branch_points{};
    frame_work table;
    double measured_seconds = 0.0;
    /// The fitted model's frame time.
    double predicted_seconds = 0.0;
};

struct frame_calibration {
    double first_scale = 1.0;
    double further_scale = 1.0;
    double entry_further_scale = 1.0;
    double step_seconds = 0.0;
    /// Layers of the entry block: those before the model's first branch point inside it.
    std::size_t entry_layers = 0;
    double gap_seconds = 0.0;
    std::vector<frame_calibration_point> points;
    /// Per round of timed frames (one frame of every configuration), the median over the
    /// configurations of frame time / the configuration's median: how the box's speed drifted
    /// during the calibration (1: as the fit; 1.2: 20% slower).
    std::vector<double> round_speed;

    /// The model's time of a frame whose parts `w` come from the table as profiled (`frame_parts`
    /// with this fit's `entry_layers`).
    [[nodiscard]] double predict(const frame_work& w) const {
        return first_scale * w.first_seconds + further_scale * (w.further_seconds - w.entry_further_seconds) +
               entry_further_scale * w.entry_further_seconds + step_seconds * static_cast<double>(w.steps);
    }
    /// The slowest round's `round_speed` over the fastest's (1 when no round was timed).
    [[nodiscard]] double speed_range() const {
        if (round_speed.empty()) return 1.0;
        const auto [lo, hi] = std::minmax_element(round_speed.begin(), round_speed.end());
        return *hi / *lo;
    }
    /// Largest |predicted / measured - 1| over the configurations.
    [[nodiscard]] double worst_fit_error() const {
        double worst = 0.0;
        for (const auto& p : points)
            worst = std::max(worst, std::abs(p.predicted_seconds / p.measured_seconds - 1.0));
        return worst;
    }
    /// Scales `table`'s layer timings by `first_scale` and sets every layer's second-copy timing
    /// to `further_scale` (`entry_further_scale` in the entry block) x (its second-copy timing, or
    /// its timing when the table has none), so `layer_seconds` and `second_copy_seconds` of the
    /// table give the fitted model; `step_seconds` goes to `sweep_input::step_seconds` (or
    /// `frame_seconds`) separately.
    void apply(profiling::latency_table& table) const {
        const bool had_copy = table.has_second_copy();
        for (std::size_t i = 0; i < table.layers.size(); ++i) {
            profiling::layer_latency& l = table.layers[i];
            const profiling::timing further = had_copy ? *l.second_copy : l.time;
            const double scale = i < entry_layers ? entry_further_scale : further_scale;
            l.second_copy = profiling::timing{further.median_us * scale, further.p90_us * scale};
            l.time.median_us *= first_scale;
            l.time.p90_us *= first_scale;
        }
    }
};

namespace detail {

/// min sum_i ((x . a_i) / y_i - 1)^2 over x >= 0 (N unknowns, a handful): every subset of free
/// unknowns solved by its normal equations, the best feasible kept.
template <std::size_t N>
[[nodiscard]] std::array<double, N> fit_nonnegative(const std::vector<std::array<double, N>>& a,
                                                    const std::vector<double>& y) {
    static_assert(N >= 1 && N <= 8, "every subset of unknowns is tried");
    std::array<double, N> best{};
    double best_residual = static_cast<double>(y.size());  // x = 0
    for (unsigned mask = 1; mask < (1U << N); ++mask) {
        std::vector<std::size_t> free;
        for (std::size_t j = 0; j < N; ++j)
            if (mask & (1U << j)) free.push_back(j);
        const std::size_t n = free.size();
        std::array<std::array<double, N + 1>, N> m{};
        for (std::size_t i = 0; i < y.size(); ++i)
            for (std::size_t r = 0; r < n; ++r) {
                const double ar = a[i][free[r]] / y[i];
                for (std::size_t c = 0; c < n; ++c) m[r][c] += ar * a[i][free[c]] / y[i];
                m[r][N] += ar;
            }
        bool singular = false;
        for (std::size_t c = 0; c < n && !singular; ++c) {  // Gauss-Jordan, partial pivoting
            std::size_t pivot = c;
            for (std::size_t r = c + 1; r < n; ++r)
                if (std::abs(m[r][c]) > std::abs(m[pivot][c])) pivot = r;
            if (std::abs(m[pivot][c]) < 1e-12 * (1.0 + std::abs(m[c][c]))) {
                singular = true;
                break;
            }
            std::swap(m[c], m[pivot]);
            for (std::size_t r = 0; r < n; ++r) {
                if (r == c) continue;
                const double f = m[r][c] / m[c][c];
                for (std::size_t k = c; k <= N; ++k) m[r][k] -= f * m[c][k];
            }
        }
        if (singular) continue;
        std::array<double, N> x{};
        bool feasible = true;
        for (std::size_t r = 0; r < n; ++r) {
            x[free[r]] = m[r][N] / m[r][r];
            feasible = feasible && x[free[r]] >= 0.0;
        }
        if (!feasible) continue;
        double residual = 0.0;
        for (std::size_t i = 0; i < y.size(); ++i) {
            double fitted = 0.0;
            for (std::size_t j = 0; j < N; ++j) fitted += x[j] * a[i][j];
            const double e = fitted / y[i] - 1.0;
            residual += e * e;
        }
        if (residual < best_residual) {
            best_residual = residual;
            best = x;
        }
    }
    return best;
}

}  // namespace detail

/// Runs the configurations (see the file comment) of `base` (weights bound) on a live executor
/// and fits the frame cost model to them and to `table` (the latency table of `base` the plans
/// use). Takes about (configurations) x (warmup + frames) x gap seconds. Throws
/// `stemshare::error` on bad options or configurations, a table of another length than `base`,
/// or a base the executor refuses.
[[nodiscard]] inline frame_calibration calibrate_frames(const graph& base,
                                                        const profiling::latency_table& table,
                                                        const frame_calibration_options& o = {}) {
    const std::string who = "experiment::calibrate_frames";
    if (table.layers.size() != base.size())
        throw error(who + ": table", "has " + std::to_string(table.layers.size()) +
                                         " layers; the model has " + std::to_string(base.size()));
    if (!(o.gap_seconds >= 0.0) || !(o.gap_seconds <= 60.0))
        throw error(who + ": gap_seconds", "must be in [0, 60], got " + std::to_string(o.gap_seconds));
    if (o.apps < 2 || o.frames < 1) throw error(who, "needs apps >= 2 and frames >= 1");
    std::vector<std::size_t> points;
    for (std::size_t k : base.branch_points())
        if (k > 0 && k < base.size()) points.push_back(k);
    if (points.empty())
        throw error(who, "the model has no branch point inside it; a stem cannot be calibrated");
    const std::vector<double> first = layer_seconds(table);
    const std::vector<double> further = second_copy_seconds(table);
    const std::size_t mid = points[points.size() / 2];
    std::vector<std::vector<std::size_t>> configs = o.configurations;
    if (configs.empty()) {
        configs = {{0},
                   {mid},
                   std::vector<std::size_t>(o.apps, 0),
                   std::vector<std::size_t>(o.apps, mid),
                   std::vector<std::size_t>(o.apps, points.back())};
        // Plans mix branch points, so a frame runs several stem steps; frames of one branch point
        // alone fit them 7-12% low (measured round robin, docs/experiment.md). One mix over every
        // point (0 included) and one over the deeper half.
        std::vector<std::size_t> all{0};
        all.insert(all.end(), points.begin(), points.end());
        const std::size_t half = points.size() / 2;
        std::vector<std::size_t> spread;
        std::vector<std::size_t> deep;
        for (std::size_t a = 0; a < o.apps; ++a) {
            spread.push_back(all[a * all.size() / o.apps]);
            deep.push_back(points[half + a * (points.size() - half) / o.apps]);
        }
        configs.push_back(spread);
        configs.push_back(deep);
    }
    for (std::size_t c = 0; c < configs.size(); ++c) {
        if (configs[c].empty()) throw error(who + ": configuration " + std::to_string(c), "has no app");
        for (std::size_t k : configs[c])
            if (k != 0 && std::find(points.begin(), points.end(), k) == points.end())
                throw error(who + ": configuration " + std::to_string(c),
                            "branch point " + std::to_string(k) + " is not one of the model's");
    }
    if (configs.size() < 4)
        throw error(
            who, "needs at least 4 configurations to fit 4 numbers, got " + std::to_string(configs.size()));

    const shape in = base.input_shape();
    tensor<float> frame(dims{1, in.c, in.h, in.w});
    fill_uniform(frame.values(), o.seed, 0.0F, 1.0F);
    const auto gap = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(o.gap_seconds));
    frame_calibration cal;
    cal.gap_seconds = o.gap_seconds;
    cal.entry_layers = *std::min_element(points.begin(), points.end());
    std::vector<std::array<double, 4>> rows;
    std::vector<double> measured;
    // Every configuration's executor first, then the frames round robin (one frame of each per
    // round): this box's speed drifts by tens of percent over tens of seconds, and a configuration
    // timed all at once would fit whatever speed its stretch of time had, distorting the fit.
    std::vector<std::unique_ptr<runtime::executor>> boxes;
    std::vector<std::vector<replay_app>> apps(configs.size());
    for (std::size_t c = 0; c < configs.size(); ++c) {
        // fps 0: every app takes every frame, whatever the stream's nominal rate.
        boxes.push_back(std::make_unique<runtime::executor>(
            runtime::executor_options{.input = in, .stream_fps = 15.0, .threads = o.threads}));
        for (std::size_t a = 0; a < configs[c].size(); ++a) {
            boxes.back()->add_app("calibration_" + std::to_string(a),
                                  redrawn_suffix(base, configs[c][a], o.seed + 1 + a),
                                  {.num_frozen = configs[c][a], .fps = 0.0});
            apps[c].push_back({configs[c][a], 1.0, 0});
        }
    }
    std::vector<std::vector<double>> times(configs.size());
    for (std::size_t i = 0; i < o.warmup + o.frames; ++i)
        for (std::size_t c = 0; c < configs.size(); ++c) {
            std::this_thread::sleep_until(std::chrono::steady_clock::now() + gap);
            const auto start = std::chrono::steady_clock::now();
            const runtime::frame_result& r = boxes[c]->process(std::as_const(frame).view());
            const double spent =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (r.suffix_runs != configs[c].size())
                throw error(who, "the executor ran " + std::to_string(r.suffix_runs) + " of " +
                                     std::to_string(configs[c].size()) + " apps on a frame");
            if (i >= o.warmup) times[c].push_back(spent);
        }
    boxes.clear();
    for (std::size_t c = 0; c < configs.size(); ++c) {
        const double median = profiling::median(times[c]);
        frame_calibration_point p{.num_frozen = *std::max_element(configs[c].begin(), configs[c].end()),
                                  .apps = configs[c].size(),
                                  .branch_points = configs[c],
                                  .table = frame_parts(apps[c], std::vector<bool>(configs[c].size(), true),
                                                       first, further, cal.entry_layers),
                                  .measured_seconds = median};
        rows.push_back({p.table.first_seconds, p.table.further_seconds - p.table.entry_further_seconds,
                        p.table.entry_further_seconds, static_cast<double>(p.table.steps)});
        measured.push_back(p.measured_seconds);
        cal.points.push_back(p);
    }
    // The box's speed per round: the median over configurations of frame time / its median.
    for (std::size_t i = 0; i < o.frames; ++i) {
        std::vector<double> relative;
        for (std::size_t c = 0; c < configs.size(); ++c) relative.push_back(times[c][i] / measured[c]);
        cal.round_speed.push_back(profiling::median(relative));
    }
    const std::array<double, 4> x = detail::fit_nonnegative(rows, measured);
    cal.first_scale = x[0];
    cal.further_scale = x[1];
    cal.entry_further_scale = x[2];
    cal.step_seconds = x[3];
    if (std::all_of(rows.begin(), rows.end(), [](const std::array<double, 4>& r) { return r[2] == 0.0; }))
        cal.entry_further_scale = cal.further_scale;  // nothing measured it (x[2] is 0 by default)
    if (!(cal.first_scale > 0.0))
        throw error(who, "the fit charges nothing for a layer's first run; the measurements are unusable");
    for (auto& p : cal.points) p.predicted_seconds = cal.predict(p.table);
    return cal;
}

}  // namespace stemshare::experiment
