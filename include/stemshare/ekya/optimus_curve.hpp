#pragma once
/// \file
/// The micro-profiler's accuracy-vs-epochs model (docs/ekya.md): the Optimus form
/// acc(x) = 1 - (1 / (b0 * x + b1) + b2), fitted by nonlinear least squares (Levenberg-Marquardt on
/// Eigen matrices) through (0, start accuracy), the profiled points and an anchor at a long horizon.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include <stemshare/core/error.hpp>

namespace stemshare::ekya {

/// One observation: accuracy after `epochs` epochs (0 = before retraining).
struct epoch_accuracy {
    double epochs = 0.0;
    double accuracy = 0.0;
};

/// A fitted curve. `converged` is false when the solver stopped without meeting its tolerance
/// (the parameters are then the best it found); callers that want Ekya's fallback use
/// `predict_or(start)`.
class optimus_curve {
public:
    optimus_curve(double b0, double b1, double b2, bool converged, double rms)
        : b0_(b0), b1_(b1), b2_(b2), converged_(converged), rms_(rms) {}

    [[nodiscard]] double b0() const noexcept { return b0_; }
    [[nodiscard]] double b1() const noexcept { return b1_; }
    [[nodiscard]] double b2() const noexcept { return b2_; }
    [[nodiscard]] bool converged() const noexcept { return converged_; }
    /// Root-mean-square residual over the fitted points.
    [[nodiscard]] double rms() const noexcept { return rms_; }

    /// Accuracy after `epochs` epochs.
    [[nodiscard]] double operator()(double epochs) const noexcept {
        return 1.0 - (1.0 / (b0_ * epochs + b1_) + b2_);
    }

    /// The prediction clamped to [0, 1], or `fallback` (Ekya: the start accuracy) if the fit did
    /// not converge or predicts something non-finite.
    [[nodiscard]] double predict_or(double epochs, double fallback) const noexcept {
        const double p = (*this)(epochs);
        if (!converged_ || !std::isfinite(p)) return fallback;
        return std::clamp(p, 0.0, 1.0);
    }

private:
    double b0_, b1_, b2_;
    bool converged_;
    double rms_;
};

/// Least-squares fit of the Optimus form to `points` (give (0, start accuracy) and the anchor among
/// them; `with_anchor` builds that list). Throws `stemshare::error` naming the point or the problem
/// on degenerate input: fewer than three points, fewer than three distinct epoch counts, a negative
/// or non-finite epoch count, an accuracy outside [0, 1].
[[nodiscard]] inline optimus_curve fit_optimus(const std::vector<epoch_accuracy>& points,
                                               int max_iterations = 200) {
    require(points.size() >= 3, "optimus fit",
            "needs at least 3 points for 3 parameters, got " + std::to_string(points.size()));
    std::vector<double> xs;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const auto [x, y] = points[i];
        const std::string where = "optimus fit point " + std::to_string(i);
        require(std::isfinite(x) && x >= 0, where, "epochs must be finite and >= 0");
        require(std::isfinite(y) && y >= 0 && y <= 1, where, "accuracy must be in [0, 1]");
        xs.push_back(x);
    }
    std::sort(xs.begin(), xs.end());
    require(std::unique(xs.begin(), xs.end()) - xs.begin() >= 3, "optimus fit",
            "needs at least 3 distinct epoch counts");

    const auto n = static_cast<Eigen::Index>(points.size());
    Eigen::VectorXd x(n), y(n);
    for (Eigen::Index i = 0; i < n; ++i) {
        x(i) = points[static_cast<std::size_t>(i)].epochs;
        y(i) = points[static_cast<std::size_t>(i)].accuracy;
    }
    // Start: the asymptote 1 - b2 a little above the best accuracy seen, the curve through the first
    // and the last point.
    const Eigen::Index first = [&] {
        Eigen::Index k;
        x.minCoeff(&k);
        return k;
    }();
    const Eigen::Index last = [&] {
        Eigen::Index k;
        x.maxCoeff(&k);
        return k;
    }();
    Eigen::Vector3d b;
    b(2) = 1.0 - std::min(1.0, y.maxCoeff() + 0.02);
    const double gap0 = std::max(1e-3, 1.0 - b(2) - y(first));
    const double gap1 = std::max(1e-4, std::min(gap0 * 0.999, 1.0 - b(2) - y(last)));
    b(0) = std::max(1e-6, (1.0 / gap1 - 1.0 / gap0) / std::max(1e-9, x(last) - x(first)));
    b(1) = 1.0 / gap0 - b(0) * x(first);
    if (b(1) <= 0) b(1) = 1e-3;

    const auto residuals = [&](const Eigen::Vector3d& p, Eigen::VectorXd& r) {
        r = y - (Eigen::VectorXd::Ones(n) - ((p(0) * x).array() + p(1)).inverse().matrix() -
                 Eigen::VectorXd::Constant(n, p(2)));
    };
    const auto feasible = [&](const Eigen::Vector3d& p) {
        return std::isfinite(p.sum()) && ((p(0) * x).array() + p(1)).minCoeff() > 1e-9;
    };
    Eigen::VectorXd r;
    residuals(b, r);
    double cost = r.squaredNorm();
    double lambda = 1e-3;
    bool converged = false;
    for (int it = 0; it < max_iterations; ++it) {
        const Eigen::ArrayXd d = (b(0) * x).array() + b(1);
        Eigen::MatrixXd jac(n, 3);  // d residual / d b = -(d f / d b)
        jac.col(0) = -(x.array() / d.square()).matrix();
        jac.col(1) = -(1.0 / d.square()).matrix();
        jac.col(2) = Eigen::VectorXd::Ones(n);
        const Eigen::Matrix3d jtj = jac.transpose() * jac;
        const Eigen::Vector3d jtr = jac.transpose() * r;
        bool improved = false;
        while (lambda < 1e12) {
            Eigen::Matrix3d a = jtj;
            a.diagonal() += lambda * jtj.diagonal().cwiseMax(1e-12);
            const Eigen::Vector3d step = a.ldlt().solve(-jtr);
            const Eigen::Vector3d next = b + step;
            if (feasible(next)) {
                Eigen::VectorXd rn;
                residuals(next, rn);
                const double c = rn.squaredNorm();
                if (std::isfinite(c) && c <= cost) {
                    const bool small =
                        step.norm() <= 1e-10 * (b.norm() + 1e-10) || cost - c <= 1e-15 * (cost + 1e-30);
                    b = next;
                    r = rn;
                    cost = c;
                    lambda = std::max(1e-12, lambda / 3);
                    improved = true;
                    if (small) converged = true;
                    break;
                }
            }
            lambda *= 4;
        }
        if (!improved) {
            converged = cost <= 1e-20 || jtr.norm() <= 1e-10;  // already at a stationary point
            break;
        }
        if (converged) break;
    }
    return optimus_curve(b(0), b(1), b(2), converged, std::sqrt(cost / static_cast<double>(n)));
}

/// The points Ekya fits: (0, start accuracy), the profiled ones, and an anchor at `horizon` epochs
/// holding the best profiled accuracy (retraining is taken to saturate rather than keep climbing).
/// The anchor makes predictions conservative: past the profiled epochs the curve stays near the
/// best accuracy seen, below a freely extrapolated Optimus curve.
[[nodiscard]] inline std::vector<epoch_accuracy> with_anchor(double start_accuracy,
                                                             const std::vector<epoch_accuracy>& profiled,
                                                             double horizon = 1000.0) {
    std::vector<epoch_accuracy> points{{0.0, start_accuracy}};
    double best = start_accuracy;
    for (const epoch_accuracy& p : profiled) {
        points.push_back(p);
        best = std::max(best, p.accuracy);
    }
    points.push_back({horizon, best});
    return points;
}

}  // namespace stemshare::ekya
