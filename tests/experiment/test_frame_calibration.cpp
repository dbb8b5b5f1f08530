// The frame cost model: its non-negative fit, its configurations on a live executor, and how it
// is written into a latency table.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include <stemshare/experiment/frame_calibration.hpp>
#include <stemshare/profiling/profile.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>

using namespace stemshare;

namespace {
profiling::latency_table made_up_table(std::size_t layers) {
    profiling::latency_table t;
    for (std::size_t l = 0; l < layers; ++l) {
        profiling::layer_latency row;
        row.index = l;
        row.time = {10.0 + static_cast<double>(l), 20.0 + static_cast<double>(l)};
        t.layers.push_back(row);
    }
    return t;
}
}  // namespace

TEST_CASE("frame_calibration: the fit recovers exact coefficients and keeps every one non-negative") {
    // First runs, further copies past the entry block, further copies in it, steps.
    const std::array<double, 4> truth{1.3, 0.8, 0.1, 4e-6};
    std::vector<std::array<double, 4>> rows{{1e-4, 0.0, 0.0, 1.0},    {1e-4, 0.0, 0.0, 2.0},
                                            {1e-4, 6e-4, 3e-4, 10.0}, {1e-4, 3e-4, 0.0, 11.0},
                                            {1e-4, 2e-5, 0.0, 11.0},  {1e-4, 2e-4, 1e-4, 14.0}};
    std::vector<double> y;
    for (const auto& r : rows)
        y.push_back(truth[0] * r[0] + truth[1] * r[1] + truth[2] * r[2] + truth[3] * r[3]);
    const auto x = experiment::detail::fit_nonnegative(rows, y);
    for (std::size_t j = 0; j < 4; ++j) CHECK(x[j] == doctest::Approx(truth[j]).epsilon(1e-9));

    // Frames that get cheaper with more steps would need a negative step cost: the fit drops it
    // and fits the others instead.
    std::vector<double> falling{2e-4, 1.9e-4, 9e-4, 4e-4, 1.5e-4, 3e-4};
    const auto clamped = experiment::detail::fit_nonnegative(rows, falling);
    CHECK(clamped[3] == 0.0);
    CHECK(clamped[0] > 0.0);
    for (double v : clamped) CHECK(v >= 0.0);
    // Entry copies that cost less than nothing in the truth: their number is held at 0.
    std::vector<double> cheap_entry;
    for (const auto& r : rows) cheap_entry.push_back(1.3 * r[0] + 0.8 * r[1] - 0.3 * r[2] + 4e-6 * r[3]);
    CHECK(experiment::detail::fit_nonnegative(rows, cheap_entry)[2] == 0.0);
}

TEST_CASE("frame_calibration: apply scales first runs and writes every further copy") {
    profiling::latency_table t = made_up_table(3);
    experiment::frame_calibration fit;
    fit.first_scale = 2.0;
    fit.further_scale = 0.5;
    fit.entry_further_scale = 0.25;
    fit.entry_layers = 1;
    fit.step_seconds = 1e-6;
    fit.apply(t);
    REQUIRE(t.has_second_copy());
    // Without a second-copy table, further copies are scaled first-run times, the entry block's
    // (layer 0) by its own number.
    CHECK(t.layers[1].time.median_us == doctest::Approx(22.0));
    CHECK(t.layers[1].second_copy->median_us == doctest::Approx(5.5));
    CHECK(t.layers[0].second_copy->median_us == doctest::Approx(2.5));
    // With one, its times are scaled.
    profiling::latency_table with = made_up_table(2);
    for (auto& l : with.layers) l.second_copy = profiling::timing{4.0, 6.0};
    fit.apply(with);
    CHECK(with.layers[0].time.median_us == doctest::Approx(20.0));
    CHECK(with.layers[0].second_copy->median_us == doctest::Approx(1.0));
    CHECK(with.layers[1].second_copy->median_us == doctest::Approx(2.0));
    // The fitted model is what frame_seconds then charges.
    const std::vector<experiment::replay_app> apps{{0, 5.0}, {0, 5.0}};
    const auto w = experiment::frame_parts(apps, {true, true}, experiment::layer_seconds(made_up_table(3)),
                                           {}, fit.entry_layers);
    CHECK(w.entry_further_seconds == doctest::Approx(10e-6));  // layer 0's second copy
    CHECK(w.further_seconds == doctest::Approx(33e-6));
    CHECK(experiment::frame_seconds(apps, {true, true}, experiment::layer_seconds(t),
                                    experiment::second_copy_seconds(t),
                                    fit.step_seconds) == doctest::Approx(fit.predict(w)));
}

TEST_CASE(
    "frame_calibration: seven configurations run on a live executor and the fit reproduces its own numbers") {
    graph base = zoo::fashion_mobilenet.to_graph();
    base.bind_random(3);
    const profiling::latency_table table = profiling::profile(
        base, "fashion_mobilenet", {.threads = 1, .runs = 3, .warmup = 1, .second_copy = true});
    const experiment::frame_calibration fit = experiment::calibrate_frames(
        base, table, {.gap_seconds = 0.002, .apps = 3, .frames = 3, .warmup = 1});
    REQUIRE(fit.points.size() == 7);
    // One app, one app under a stem, three apps without, under a middle and under the last stem;
    // then three apps over a mix of branch points, twice: a step per app and per distinct stem.
    const std::array<std::size_t, 5> steps{1, 2, 3, 4, 4};
    for (std::size_t i = 0; i < 7; ++i) {
        const auto& p = fit.points[i];
        std::vector<std::size_t> stems;
        for (std::size_t k : p.branch_points)
            if (k > 0 && std::find(stems.begin(), stems.end(), k) == stems.end()) stems.push_back(k);
        CHECK(p.table.steps == (i < 5 ? steps[i] : p.apps + stems.size()));
        if (i >= 5) CHECK(stems.size() >= 2);
        CHECK(p.measured_seconds > 0.0);
        CHECK(p.table.first_seconds > 0.0);
        CHECK(p.predicted_seconds == doctest::Approx(fit.predict(p.table)));
        CHECK(std::isfinite(p.predicted_seconds));
    }
    CHECK(fit.points[0].table.further_seconds == 0.0);
    CHECK(fit.points[2].table.further_seconds > fit.points[3].table.further_seconds);
    CHECK(fit.points[3].table.further_seconds > fit.points[4].table.further_seconds);
    // The entry block ends at the first branch point; only apps at branch point 0 copy it.
    std::size_t first_point = base.size();
    for (std::size_t k : base.branch_points())
        if (k > 0) first_point = std::min(first_point, k);
    CHECK(fit.entry_layers == first_point);
    CHECK(fit.points[2].table.entry_further_seconds > 0.0);
    CHECK(fit.points[2].table.entry_further_seconds < fit.points[2].table.further_seconds);
    CHECK(fit.points[3].table.entry_further_seconds == 0.0);
    CHECK(fit.first_scale > 0.0);
    CHECK(fit.further_scale >= 0.0);
    CHECK(fit.entry_further_scale >= 0.0);
    CHECK(fit.step_seconds >= 0.0);
    // One speed per round of timed frames.
    REQUIRE(fit.round_speed.size() == 3);
    for (double v : fit.round_speed) CHECK(v > 0.0);
    CHECK(fit.speed_range() >= 1.0);
}

TEST_CASE("frame_calibration: caller's configurations run as given, mixed branch points and all") {
    graph base = zoo::fashion_mobilenet.to_graph();
    base.bind_random(3);
    const profiling::latency_table table = profiling::profile(
        base, "fashion_mobilenet", {.threads = 1, .runs = 3, .warmup = 1, .second_copy = true});
    std::vector<std::size_t> points;
    for (std::size_t k : base.branch_points())
        if (k > 0 && k < base.size()) points.push_back(k);
    REQUIRE(points.size() >= 2);
    const std::size_t a = points.front();
    const std::size_t b = points.back();
    const std::vector<std::vector<std::size_t>> configs{{0}, {a, b, b}, {0, a}, {b, a, 0, b}};
    const experiment::frame_calibration fit = experiment::calibrate_frames(
        base, table, {.gap_seconds = 0.001, .frames = 2, .warmup = 1, .configurations = configs});
    REQUIRE(fit.points.size() == configs.size());
    // Steps: one per distinct branch point > 0, one per app.
    const std::array<std::size_t, 4> steps{1, 5, 3, 6};
    for (std::size_t i = 0; i < configs.size(); ++i) {
        CHECK(fit.points[i].branch_points == configs[i]);
        CHECK(fit.points[i].apps == configs[i].size());
        CHECK(fit.points[i].table.steps == steps[i]);
        CHECK(fit.points[i].measured_seconds > 0.0);
    }
    CHECK(fit.points[1].num_frozen == b);
    CHECK(fit.points[2].table.further_seconds > 0.0);
    CHECK(fit.points[2].table.entry_further_seconds > 0.0);  // apps at 0 and at the first point
    CHECK(fit.round_speed.size() == 2);

    // No app at branch point 0 beside another: nothing copies the entry block, so nothing measures
    // its copies, and they are charged as every other further copy.
    const experiment::frame_calibration no_entry =
        experiment::calibrate_frames(base, table,
                                     {.gap_seconds = 0.001,
                                      .frames = 2,
                                      .warmup = 1,
                                      .configurations = {{a}, {b}, {a, b, b}, {b, b, a, a}}});
    for (const auto& p : no_entry.points) CHECK(p.table.entry_further_seconds == 0.0);
    CHECK(no_entry.entry_further_scale == no_entry.further_scale);
}

TEST_CASE("frame_calibration: a table of another model or a bad gap is refused by name") {
    graph base = zoo::fashion_mobilenet.to_graph();
    base.bind_random(3);
    CHECK_THROWS_WITH_AS((void)experiment::calibrate_frames(base, made_up_table(3)),
                         doctest::Contains("calibrate_frames: table"), stemshare::error);
    CHECK_THROWS_WITH_AS(
        (void)experiment::calibrate_frames(base, made_up_table(base.size()), {.gap_seconds = -1.0}),
        doctest::Contains("gap_seconds"), stemshare::error);
    CHECK_THROWS_WITH_AS((void)experiment::calibrate_frames(base, made_up_table(base.size()), {.apps = 1}),
                         doctest::Contains("apps >= 2"), stemshare::error);
    const std::vector<std::size_t> points = base.branch_points();
    std::size_t not_a_point = 1;
    while (std::find(points.begin(), points.end(), not_a_point) != points.end()) ++not_a_point;
    REQUIRE(not_a_point < base.size());
    CHECK_THROWS_WITH_AS((void)experiment::calibrate_frames(base, made_up_table(base.size()),
                                                            {.configurations = {{0}, {not_a_point}, {0, 0}}}),
                         doctest::Contains("configuration 1"), stemshare::error);
    CHECK_THROWS_WITH_AS((void)experiment::calibrate_frames(base, made_up_table(base.size()),
                                                            {.configurations = {{0}, {}, {0, 0}}}),
                         doctest::Contains("has no app"), stemshare::error);
    CHECK_THROWS_WITH_AS((void)experiment::calibrate_frames(base, made_up_table(base.size()),
                                                            {.configurations = {{0}, {0, 0}, {0, 0, 0}}}),
                         doctest::Contains("at least 4 configurations"), stemshare::error);
}
