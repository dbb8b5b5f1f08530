#pragma once
/// \file
/// Inference accuracy vs CPU share: a camera at share a analyses a fraction of its frames and
/// reuses the last result in between; this table says how much of the model's accuracy survives.

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>

namespace stemshare::sched::ekya {

/// Relative accuracy vs fraction of frames analysed. `full_share` is the share that analyses every
/// frame; a share a analyses f = min(1, a / full_share) of them. The table holds points
/// (f, relative accuracy), f ascending in (0, 1], measured by running the model on the stream;
/// between points it is interpolated linearly, below the first point the camera scores 0 (it falls
/// too far behind the stream). Ekya's default: 1 at f = 1, 0 at f = 1/20.
class inference_curve {
public:
    /// Ekya's table for a camera whose every frame costs `full_share` of the box.
    explicit inference_curve(double full_share = 0.5)
        : inference_curve(full_share, {{1.0 / 20.0, 0.0}, {1.0, 1.0}}) {}

    /// A measured table; throws `stemshare::error` naming the bad point.
    inference_curve(double full_share, std::vector<std::pair<double, double>> points)
        : full_share_(full_share), points_(std::move(points)) {
        require(std::isfinite(full_share_) && full_share_ > 0, "inference_curve",
                "full_share must be positive, got " + std::to_string(full_share_));
        require(!points_.empty(), "inference_curve", "the table has no points");
        for (std::size_t i = 0; i < points_.size(); ++i) {
            const auto [f, r] = points_[i];
            const std::string where = "inference_curve point " + std::to_string(i);
            require(std::isfinite(f) && f > 0 && f <= 1, where, "fraction must be in (0, 1]");
            require(std::isfinite(r) && r >= 0 && r <= 1, where, "relative accuracy must be in [0, 1]");
            require(i == 0 || f > points_[i - 1].first, where, "fractions must be strictly ascending");
        }
        require(points_.back().first == 1.0, "inference_curve", "the last point must be at fraction 1");
    }

    /// Share of the box that analyses every frame.
    [[nodiscard]] double full_share() const noexcept { return full_share_; }
    [[nodiscard]] const std::vector<std::pair<double, double>>& points() const noexcept { return points_; }

    /// Relative accuracy (0..1) at `share` of the box.
    [[nodiscard]] double scale(double share) const noexcept {
        const double f = std::min(1.0, share / full_share_);
        if (f < points_.front().first) return 0.0;
        for (std::size_t i = 1; i < points_.size(); ++i) {
            const auto [f1, r1] = points_[i];
            if (f <= f1) {
                const auto [f0, r0] = points_[i - 1];
                return r0 + (r1 - r0) * (f - f0) / (f1 - f0);
            }
        }
        return points_.back().second;
    }

private:
    double full_share_;
    std::vector<std::pair<double, double>> points_;
};

}  // namespace stemshare::sched::ekya
