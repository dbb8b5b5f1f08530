#pragma once
/// \file
/// A planning problem: apps (curves smoothed), the cost model, the stream, the mode, and every
/// candidate (branch point, fps) of every app with its predicted quality, computed once.

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/sched/app.hpp>
#include <stemshare/sched/app_quality.hpp>
#include <stemshare/sched/cost_model.hpp>
#include <stemshare/sched/curve.hpp>
#include <stemshare/sched/quality_model.hpp>

namespace stemshare::sched {

/// Which candidates a planner may use (docs/scheduler.md, "API").
enum class mode {
    mainstream,  ///< every branch point of the curve, fps 1..F
    nosharing,   ///< k = 0 only (each app its own full model), fps 0.1..0.9 and 1..F
    maxsharing,  ///< k = the app's largest branch point only, fps 1..F
};

/// Name used by the CLI and reports.
[[nodiscard]] constexpr std::string_view to_string(mode m) noexcept {
    switch (m) {
        case mode::mainstream:
            return "mainstream";
        case mode::nosharing:
            return "nosharing";
        case mode::maxsharing:
            return "maxsharing";
    }
    return "?";
}

/// The frame-rate grid of a mode: integers 1..floor(F), and for `nosharing` first i*0.1 for
/// i = 1..9 (computed as i*0.1, as the original does). Values above F are left out.
/// The highest stream rate a plan may assume: the grid holds one entry per whole fps.
inline constexpr double max_stream_fps = 10000.0;

/// Throws `stemshare::error` unless 0 < `stream_fps` <= max_stream_fps (NaN and infinity fail).
constexpr void validate_stream_fps(double stream_fps) {
    if (!(stream_fps > 0.0) || !(stream_fps <= max_stream_fps))
        throw error("stream_fps", "must be a positive frame rate of at most " +
                                      std::to_string(max_stream_fps) + " fps, got " +
                                      std::to_string(stream_fps));
}

[[nodiscard]] constexpr std::vector<double> fps_grid(mode m, double stream_fps) {
    validate_stream_fps(stream_fps);
    std::vector<double> grid;
    if (m == mode::nosharing) {
        for (int i = 1; i <= 9; ++i) {
            const double f = i * 0.1;
            if (f <= stream_fps) grid.push_back(f);
        }
    }
    for (int f = 1; f <= stream_fps; ++f) grid.push_back(f);
    return grid;
}

/// One candidate of one app.
struct option {
    int num_frozen = 0;        ///< branch point k
    int level = 0;             ///< index of k in `problem::levels()`
    int fps_index = 0;         ///< index of fps in `problem::fps_grid()`
    double fps = 0.0;          ///< frame rate
    app_quality quality;       ///< predicted recall, precision, F1
    double suffix_cost = 0.0;  ///< suffix_latency(k) x fps: the app's own layers
};

/// Everything a planner needs, validated and precomputed.
class problem {
public:
    /// Uses the mode's default fps grid. Throws `stemshare::error` naming the field on bad input.
    constexpr problem(std::vector<app_spec> apps, cost_model costs, double stream_fps,
                      sched::mode m = mode::mainstream)
        : problem(std::move(apps), std::move(costs), stream_fps, m, sched::fps_grid(m, stream_fps)) {}

    /// The mode's default fps grid, predicting quality with `model`.
    constexpr problem(std::vector<app_spec> apps, cost_model costs, double stream_fps, sched::mode m,
                      sched::quality_model model)
        : problem(std::move(apps), std::move(costs), stream_fps, m, sched::fps_grid(m, stream_fps), model) {}

    /// With an explicit fps grid (strictly ascending, each in (0, stream_fps]) and quality model.
    constexpr problem(std::vector<app_spec> apps, cost_model costs, double stream_fps, sched::mode m,
                      std::vector<double> grid, sched::quality_model model = quality_model::mainstream)
        : apps_(std::move(apps)),
          costs_(std::move(costs)),
          stream_fps_(stream_fps),
          mode_(m),
          model_(model),
          grid_(std::move(grid)) {
        if (apps_.empty()) throw error("apps", "the app list is empty");
        validate_stream_fps(stream_fps_);
        if (grid_.empty())
            throw error("fps grid",
                        "no frame rate of the grid fits a " + std::to_string(stream_fps_) + " fps stream");
        for (std::size_t g = 0; g < grid_.size(); ++g) {
            if (!(grid_[g] > 0.0)) throw error("fps grid", "frame rates must be positive");
            if (grid_[g] > stream_fps_)
                throw error("fps grid", "fps " + std::to_string(grid_[g]) + " is above the stream's " +
                                            std::to_string(stream_fps_) + " fps");
            if (g > 0 && !(grid_[g] > grid_[g - 1]))
                throw error("fps grid", "frame rates must be strictly ascending");
        }
        for (app_spec& app : apps_) {
            validate(app, costs_.num_layers());
            app.curve = smooth(std::move(app.curve));
        }
        for (const app_spec& app : apps_)
            for (int k : candidates(app)) levels_.push_back(k);
        std::sort(levels_.begin(), levels_.end());
        levels_.erase(std::unique(levels_.begin(), levels_.end()), levels_.end());
        int below = 0;
        for (int k : levels_) {
            level_prefix_.push_back(costs_.prefix_latency(k));
            level_segment_.push_back(
                costs_.segment_latency(static_cast<std::size_t>(below), static_cast<std::size_t>(k)));
            below = k;
        }
        options_.resize(apps_.size());
        for (std::size_t i = 0; i < apps_.size(); ++i) {
            const std::vector<int> ks = candidates(apps_[i]);
            for (std::size_t g = 0; g < grid_.size(); ++g) {
                for (int k : ks) {
                    option o;
                    o.num_frozen = k;
                    o.level = level_of(k);
                    o.fps_index = static_cast<int>(g);
                    o.fps = grid_[g];
                    o.quality = quality(i, k, grid_[g]);
                    o.suffix_cost = costs_.suffix_cost(k, grid_[g]);
                    options_[i].push_back(o);
                }
            }
        }
    }

    /// Number of apps.
    [[nodiscard]] constexpr std::size_t num_apps() const noexcept { return apps_.size(); }
    /// App i, with its curve sorted and smoothed.
    [[nodiscard]] constexpr const app_spec& app(std::size_t i) const { return apps_[i]; }
    /// All apps, curves smoothed.
    [[nodiscard]] constexpr const std::vector<app_spec>& apps() const noexcept { return apps_; }
    /// The cost model.
    [[nodiscard]] constexpr const cost_model& costs() const noexcept { return costs_; }
    /// Stream frame rate F.
    [[nodiscard]] constexpr double stream_fps() const noexcept { return stream_fps_; }
    /// The mode the candidates were drawn from.
    [[nodiscard]] constexpr sched::mode planning_mode() const noexcept { return mode_; }
    /// The app-quality model every candidate's quality comes from.
    [[nodiscard]] constexpr sched::quality_model model() const noexcept { return model_; }
    /// Frame rates an app may choose, ascending.
    [[nodiscard]] constexpr const std::vector<double>& fps_grid() const noexcept { return grid_; }
    /// Distinct branch points usable in this mode, ascending.
    [[nodiscard]] constexpr const std::vector<int>& levels() const noexcept { return levels_; }
    /// Latency of the stem below levels()[j].
    [[nodiscard]] constexpr double level_prefix(std::size_t j) const { return level_prefix_[j]; }
    /// Latency of layers [levels()[j-1], levels()[j]) (from layer 0 for j = 0).
    [[nodiscard]] constexpr double level_segment(std::size_t j) const { return level_segment_[j]; }
    /// Candidates of app i, fps ascending outer, k ascending inner (the original greedy's order).
    [[nodiscard]] constexpr const std::vector<option>& options(std::size_t i) const { return options_[i]; }

    /// Index of branch point k in levels(), or -1.
    [[nodiscard]] constexpr int level_of(int k) const noexcept {
        for (std::size_t j = 0; j < levels_.size(); ++j)
            if (levels_[j] == k) return static_cast<int>(j);
        return -1;
    }

    /// The model's event parameters of app i on this stream.
    [[nodiscard]] constexpr event_params params(std::size_t i) const {
        const app_spec& a = apps_[i];
        return event_params{a.event_length_ms, a.event_frequency, a.correlation, stream_fps_};
    }

    /// Quality of app i at branch point k (a curve key) and `fps` (in (0, F]).
    [[nodiscard]] constexpr app_quality quality(std::size_t i, int k, double fps) const {
        for (const curve_point& p : apps_[i].curve)
            if (p.num_frozen == k)
                return model_quality(model_, p.true_positive_rate, p.false_positive_rate, params(i), fps);
        throw error(detail::app_context(apps_[i]),
                    "num_frozen " + std::to_string(k) + " is not a branch point of its curve");
    }

    /// The branch points app `a` may use in this mode, ascending.
    [[nodiscard]] constexpr std::vector<int> candidates(const app_spec& a) const {
        std::vector<int> ks;
        for (const curve_point& p : a.curve) ks.push_back(p.num_frozen);
        std::sort(ks.begin(), ks.end());
        if (mode_ == mode::nosharing) return {0};
        if (mode_ == mode::maxsharing) return {ks.back()};
        return ks;
    }

    /// Cost of the cheapest plan: every app at its largest usable k and the lowest fps. Moving an
    /// app to a larger k at the same fps, or lowering its fps, never raises the cost.
    [[nodiscard]] constexpr double cheapest_cost() const {
        std::vector<cost_entry> entries;
        for (const app_spec& a : apps_) entries.push_back({candidates(a).back(), grid_.front()});
        return costs_.plan_cost(entries);
    }

private:
    std::vector<app_spec> apps_;
    cost_model costs_;
    double stream_fps_;
    sched::mode mode_;
    sched::quality_model model_ = quality_model::mainstream;
    std::vector<double> grid_;
    std::vector<int> levels_;
    std::vector<double> level_prefix_;
    std::vector<double> level_segment_;
    std::vector<std::vector<option>> options_;
};

}  // namespace stemshare::sched
