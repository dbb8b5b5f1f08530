// The micro-profiler's Optimus curve: the fit recovers known parameters from synthetic points,
// tolerates noise, falls back as Ekya does, and refuses degenerate input with a named error.

#include <doctest/doctest.h>

#include <random>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/ekya/optimus_curve.hpp>

using stemshare::ekya::epoch_accuracy;
using stemshare::ekya::fit_optimus;

namespace {

double optimus(double b0, double b1, double b2, double x) { return 1.0 - (1.0 / (b0 * x + b1) + b2); }

}  // namespace

TEST_CASE("ekya fit: recovers known parameters from exact points") {
    struct truth {
        double b0, b1, b2;
    };
    for (const truth t : {truth{0.5, 2.0, 0.05}, truth{0.08, 1.6, 0.12}, truth{2.0, 4.0, 0.0}}) {
        std::vector<epoch_accuracy> points;
        for (double x : {0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0}) points.push_back({x, optimus(t.b0, t.b1, t.b2, x)});
        const auto c = fit_optimus(points);
        CAPTURE(t.b0);
        CHECK(c.converged());
        CHECK(c.b0() == doctest::Approx(t.b0).epsilon(1e-4));
        CHECK(c.b1() == doctest::Approx(t.b1).epsilon(1e-4));
        CHECK(c.b2() == doctest::Approx(t.b2).epsilon(1e-4).scale(1.0));
        CHECK(c(30.0) == doctest::Approx(optimus(t.b0, t.b1, t.b2, 30.0)).epsilon(1e-6));
    }
}

TEST_CASE("ekya fit: extrapolates from noisy early epochs and an anchor") {
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0.0, 0.003);
    const double b0 = 0.3, b1 = 2.5, b2 = 0.08;
    std::vector<epoch_accuracy> profiled;
    for (double x : {1.0, 2.0, 3.0, 4.0, 5.0}) profiled.push_back({x, optimus(b0, b1, b2, x) + noise(rng)});
    const auto points = stemshare::ekya::with_anchor(optimus(b0, b1, b2, 0.0), profiled, 1000.0);
    CHECK(points.size() == 7);
    const auto c = fit_optimus(points);
    CHECK(c.converged());
    CHECK(c.rms() < 0.02);
    // The anchor holds the best profiled accuracy at the horizon, so the prediction at 30 epochs
    // lies between the last profiled point and the true curve's value there.
    const double predicted = c.predict_or(30.0, 0.0);
    CHECK(predicted >= profiled.back().accuracy - 0.01);
    CHECK(predicted <= optimus(b0, b1, b2, 30.0));
    // Without the anchor the same noisy points extrapolate to the true curve.
    std::vector<epoch_accuracy> free{{0.0, optimus(b0, b1, b2, 0.0)}};
    free.insert(free.end(), profiled.begin(), profiled.end());
    const auto unanchored = fit_optimus(free);
    CHECK(unanchored.converged());
    CHECK(unanchored.predict_or(30.0, 0.0) == doctest::Approx(optimus(b0, b1, b2, 30.0)).epsilon(0.05));
}

TEST_CASE("ekya fit: degenerate input is refused with a named error") {
    CHECK_THROWS_WITH_AS((void)fit_optimus({{0, 0.5}, {1, 0.6}}), doctest::Contains("at least 3 points"),
                         stemshare::error);
    CHECK_THROWS_WITH_AS((void)fit_optimus({{0, 0.5}, {1, 0.6}, {1, 0.61}, {0, 0.5}}),
                         doctest::Contains("3 distinct epoch counts"), stemshare::error);
    CHECK_THROWS_WITH_AS((void)fit_optimus({{0, 0.5}, {-1, 0.6}, {2, 0.7}}),
                         doctest::Contains("optimus fit point 1: epochs"), stemshare::error);
    CHECK_THROWS_WITH_AS((void)fit_optimus({{0, 0.5}, {1, 1.6}, {2, 0.7}}),
                         doctest::Contains("optimus fit point 1: accuracy"), stemshare::error);
}

TEST_CASE("ekya fit: a failed fit falls back to the start accuracy") {
    const stemshare::ekya::optimus_curve failed(0.1, 1.0, 0.0, false, 1.0);
    CHECK(failed.predict_or(10.0, 0.42) == 0.42);
    const stemshare::ekya::optimus_curve fine(0.1, 1.0, 0.0, true, 0.0);
    CHECK(fine.predict_or(10.0, 0.42) == doctest::Approx(0.5));
}
