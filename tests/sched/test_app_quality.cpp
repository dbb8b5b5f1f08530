// The mainstream app-quality model, one hand-computed vector per branch of the formulas in
// docs/scheduler.md ("Model").
// Expected values were derived by hand from the formulas and checked with /usr/bin/python3
// (math.fmod, math.pow); the derivations are in the comments, with the formulas' symbols
// (a = true_positive_rate, b = false_positive_rate).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <stemshare/sched.hpp>

#include "sched_test_data.hpp"

using namespace stemshare::sched;
using doctest::Approx;

TEST_CASE("constexpr math: fmod is exact, floor/ceil/ipow match hand values") {
    static_assert(cmath::fmod(3.0, 2.5) == 0.5);
    static_assert(cmath::fmod(7.5, 1.0) == 0.5);
    static_assert(cmath::fmod(2.0, 2.0) == 0.0);
    static_assert(cmath::fmod(1.0, 3.0) == 1.0);
    static_assert(cmath::floor(1.2) == 1.0 && cmath::ceil(1.2) == 2.0);
    static_assert(cmath::floor(4.0) == 4.0 && cmath::ceil(4.0) == 4.0);
    static_assert(cmath::ipow(0.52, 3) == 0.52 * 0.52 * 0.52 || cmath::ipow(0.52, 3) == 0.52 * (0.52 * 0.52));
    static_assert(cmath::ipow(0.3, 0) == 1.0);
    // 0.1 is not representable; fmod must still be the exact remainder, like std::fmod.
    CHECK(cmath::fmod(1.0, 0.1) == std::fmod(1.0, 0.1));
    CHECK(cmath::fmod(100.3, 0.7) == std::fmod(100.3, 0.7));
}

TEST_CASE("event_f1: d < s branch matches the hand-computed value") {
    // a = 0.9, b = 0.1, L = 500 ms, e = 0.5, c = 0.1, F = 15, f = 3:
    // s = 5, d = 1.5 < s, so miss(p) = 1 - (d/s) p = 1 - 0.3 p.
    // R = 0.3 * 0.9 = 0.27; fires = 0.3 * 0.1 = 0.03;
    // P = 0.5*0.27 / (0.5*0.27 + 0.5*0.03) = 0.135 / 0.15 = 0.9;
    // F1 = 2 R P / (R + P) = 0.486 / 1.17 = 0.41538461538...
    constexpr app_quality q = event_quality(0.9, 0.1, {500.0, 0.5, 0.1, 15.0}, 3.0);
    CHECK(q.recall == Approx(0.27).epsilon(1e-12));
    CHECK(q.precision == Approx(0.9).epsilon(1e-12));
    CHECK(q.f1 == Approx(0.486 / 1.17).epsilon(1e-12));
}

TEST_CASE("event_f1: d >= s with m = 0 matches the hand-computed value") {
    // a = 0.6, b = 0.1, L = 1000 ms, e = 0.5, c = 0.2, F = 4, f = 4:
    // s = 1, d = 4, m = fmod(4, 1) = 0, p1 = 1, p2 = 0, r1 = r2 = 4: miss(p) = q^3 (1 - p).
    // event:     q = 0.4 + 0.6*0.2 = 0.52, miss = 0.52^3 * 0.4 = 0.0562432, R = 0.9437568
    // non-event: q = 0.9 + 0.1*0.2 = 0.92, miss = 0.92^3 * 0.9 = 0.7008192, fires = 0.2991808
    // P = 0.9437568 / (0.9437568 + 0.2991808) = 0.75929539825...
    // F1 = 2 R P / (R + P) = 0.84153638514...
    constexpr app_quality q = event_quality(0.6, 0.1, {1000.0, 0.5, 0.2, 4.0}, 4.0);
    CHECK(q.recall == Approx(0.9437568).epsilon(1e-12));
    CHECK(q.precision == Approx(0.9437568 / (0.9437568 + 0.2991808)).epsilon(1e-12));
    CHECK(q.f1 == Approx(0.84153638514063).epsilon(1e-12));
}

TEST_CASE("event_f1: d >= s with m > 0 matches the hand-computed value") {
    // a = 0.7, b = 0.2, L = 500 ms, e = 0.3, c = 0.107, F = 15, f = 6:
    // s = 2.5, d = 3, m = 0.5, p1 = 2/2.5 = 0.8, p2 = 0.2, r1 = 1, r2 = 2:
    // miss(p) = 0.8 (1 - p) + 0.2 q (1 - p).
    // event:     q = 0.3 + 0.7*0.107 = 0.3749, miss = 0.24 + 0.2*0.3749*0.3 = 0.262494, R = 0.737506
    // non-event: q = 0.8 + 0.2*0.107 = 0.8214, miss = 0.64 + 0.2*0.8214*0.8 = 0.771424, fires = 0.228576
    // P = 0.3*0.737506 / (0.2212518 + 0.7*0.228576) = 0.2212518 / 0.381255 = 0.58032497934...
    constexpr app_quality q = event_quality(0.7, 0.2, {500.0, 0.3, 0.107, 15.0}, 6.0);
    CHECK(q.recall == Approx(0.737506).epsilon(1e-12));
    CHECK(q.precision == Approx(0.2212518 / 0.381255).epsilon(1e-12));
    CHECK(q.f1 == Approx(0.64954180152806).epsilon(1e-12));
}

TEST_CASE("event_f1: precision is 1 when nothing can fire") {
    // b = 0 and e = 0: fires = 0 and e R = 0, so the denominator is 0 and P = 1 by definition.
    // d < s branch (F = 15, f = 3, L = 500): R = 0.3 * 0.9 = 0.27, F1 = 2*0.27/1.27.
    constexpr app_quality q = event_quality(0.9, 0.0, {500.0, 0.0, 0.1, 15.0}, 3.0);
    CHECK(q.precision == 1.0);
    CHECK(q.f1 == Approx(0.54 / 1.27).epsilon(1e-12));
    // d >= s branch (F = 4, f = 4, L = 1000, c = 0.2): miss(0) = q^3 with q = 1, so fires = 0;
    // R = 1 - 0.28^3 * 0.1 = 0.9978048 (q = 0.1 + 0.9*0.2 = 0.28), F1 = 2R/(R + 1).
    constexpr app_quality big = event_quality(0.9, 0.0, {1000.0, 0.0, 0.2, 4.0}, 4.0);
    CHECK(big.precision == 1.0);
    CHECK(big.recall == Approx(0.9978048).epsilon(1e-12));
    CHECK(big.f1 == Approx(2 * 0.9978048 / 1.9978048).epsilon(1e-12));
}

TEST_CASE("event_f1: F1 is 0 when recall or precision is within 1e-8 of 0") {
    // a = 0: R = 0 exactly, so F1 = 0 (2/(1/R + 1/P) would divide by zero).
    constexpr app_quality zero_recall = event_quality(0.0, 0.3, {500.0, 0.3, 0.1, 15.0}, 6.0);
    CHECK(zero_recall.recall == 0.0);
    CHECK(zero_recall.f1 == 0.0);
    // a = 0 and b = 0: nothing fires at all; P = 1 by the zero-denominator rule, R = 0, F1 = 0.
    constexpr app_quality silent = event_quality(0.0, 0.0, {500.0, 0.3, 0.1, 15.0}, 6.0);
    CHECK(silent.precision == 1.0);
    CHECK(silent.f1 == 0.0);
    // e = 1e-9: P = 1e-9 R / (1e-9 R + (1 - 1e-9) fires) ~ 1.68e-9 <= 1e-8, so F1 is forced to 0
    // although the harmonic mean would be ~3.4e-9. (a = 0.9, b = 0.5, f = 6, F = 15: d = 3, s = 2.5,
    // R = 1 - (0.8*0.1 + 0.2*0.19*0.1) = 0.9162, fires = 1 - (0.8*0.5 + 0.2*0.55*0.5) = 0.545.)
    constexpr app_quality tiny_precision = event_quality(0.9, 0.5, {500.0, 1e-9, 0.1, 15.0}, 6.0);
    CHECK(tiny_precision.recall == Approx(0.9162).epsilon(1e-12));
    CHECK(tiny_precision.precision > 0.0);
    CHECK(tiny_precision.precision < 1e-8);
    CHECK(tiny_precision.f1 == 0.0);
}

TEST_CASE("event_f1: the pedestrian example of docs/scheduler.md at k = 75, f = 4") {
    // Smoothed a = 0.8533, b = 0.1444, L = 500, e = 0.3, c = 0.107, F = 15, f = 4: s = 3.75, d = 2 < s.
    // R = (2/3.75) * 0.8533 = 0.4550933; fires = (2/3.75) * 0.1444; P = 0.7169183; F1 = 0.5567602.
    constexpr app_quality q = event_quality(0.8533, 0.1444, {500.0, 0.3, 0.107, 15.0}, 4.0);
    CHECK(q.recall == Approx(0.4550933).epsilon(1e-6));
    CHECK(q.precision == Approx(0.7169183).epsilon(1e-6));
    CHECK(q.f1 == Approx(0.5567602).epsilon(1e-6));
    // The same through the shipped file: its raw curve smooths to (0.8533, 0.1444) at k = 75.
    const problem p = sched_test::shipped_problem({0});
    const app_quality via_file = p.quality(0, 75, 4.0);
    CHECK(via_file.f1 == q.f1);
    CHECK(via_file.recall == q.recall);
}

TEST_CASE("event_f1: F1 is not monotone in fps") {
    // Pedestrian at k = 75: precision falls as fps rises; the best fps is inside 1..15.
    const problem p = sched_test::shipped_problem({0});
    double best = -1.0;
    int best_fps = 0;
    for (int f = 1; f <= 15; ++f) {
        const double f1 = p.quality(0, 75, f).f1;
        if (f1 > best) {
            best = f1;
            best_fps = f;
        }
    }
    CHECK(best_fps > 1);
    CHECK(best_fps < 15);
    CHECK(p.quality(0, 75, 15.0).f1 < best);
}

TEST_CASE("smooth: running maximum from the top, b moves with a") {
    // Raw (k: a, b): 0: .70/.30, 3: .80/.25, 9: .75/.20, 15: .60/.40, 21: .65/.35.
    // From the top: 21 stays (.65/.35); 15: .60 < .65 -> .65/.35; 9: .75 >= .65 stays;
    // 3: .80 >= .75 stays; 0: .70 < .80 -> .80/.25. Input order is irrelevant (sorted by k first).
    const std::vector<curve_point> raw{
        {9, 0.75, 0.20}, {0, 0.70, 0.30}, {21, 0.65, 0.35}, {3, 0.80, 0.25}, {15, 0.60, 0.40}};
    const std::vector<curve_point> expected{
        {0, 0.80, 0.25}, {3, 0.80, 0.25}, {9, 0.75, 0.20}, {15, 0.65, 0.35}, {21, 0.65, 0.35}};
    CHECK(smooth(raw) == expected);
    // An equal true-positive rate is not "strictly lower": the point keeps its own false-positive rate.
    const std::vector<curve_point> tie{{0, 0.5, 0.1}, {3, 0.5, 0.9}};
    CHECK(smooth(tie) == tie);
}

TEST_CASE("smooth: the shipped pedestrian curve at k = 75 becomes (0.8533, 0.1444)") {
    const problem p = sched_test::shipped_problem({0});
    bool seen = false;
    for (const curve_point& c : p.app(0).curve) {
        if (c.num_frozen == 75) {
            seen = true;
            CHECK(c.true_positive_rate == 0.8533);
            CHECK(c.false_positive_rate == 0.1444);
        }
    }
    CHECK(seen);
    for (std::size_t i = 1; i < p.app(0).curve.size(); ++i)
        CHECK(p.app(0).curve[i - 1].true_positive_rate >= p.app(0).curve[i].true_positive_rate);
}

TEST_CASE("quality_model: mainstream is event_quality bit for bit, sampled reads L f / 1000 samples") {
    const event_params ev{1000.0, 0.2, 0.5, 15.0};
    for (double f : {1.0, 4.0, 5.0, 15.0}) {
        CHECK(model_quality(quality_model::mainstream, 0.9, 0.1, ev, f) == event_quality(0.9, 0.1, ev, f));
        CHECK(model_quality(quality_model::sampled, 0.9, 0.1, ev, f) == sampled_event_quality(0.9, 0.1, ev, f));
    }
    // At 5 fps an app samples 5 frames of a 1 s event; by hand: q = (1 - p) + p c, miss = q^4 (1 - p).
    const auto miss = [](double p) { return std::pow((1.0 - p) + p * 0.5, 4) * (1.0 - p); };
    CHECK(sampled_event_quality(0.9, 0.1, ev, 5.0).recall == Approx(1.0 - miss(0.9)));
    // Usable at compile time, as the rest of the scheduler.
    static_assert(model_quality(quality_model::sampled, 0.9, 0.1, event_params{1000.0, 0.2, 0.5, 15.0}, 15.0) ==
                  event_quality(0.9, 0.1, event_params{1000.0, 0.2, 0.5, 15.0}, 15.0));
    static_assert(parse_quality_model("sampled", "x") == quality_model::sampled);
    CHECK(to_string(quality_model::sampled) == "sampled");
    CHECK(parse_quality_model(to_string(quality_model::mainstream), "x") == quality_model::mainstream);
    CHECK_THROWS_WITH_AS((void)parse_quality_model("exact", "--quality-model"),
                         doctest::Contains("--quality-model: unknown quality model 'exact'"), stemshare::error);
}

TEST_CASE("quality_model: a problem built on a model predicts every candidate with it") {
    app_spec a;
    a.name = "x";
    a.event_length_ms = 1000.0;
    a.event_frequency = 0.2;
    a.correlation = 0.5;
    a.curve = {{0, 0.9, 0.1}, {3, 0.8, 0.2}};
    const cost_model costs(std::vector<double>{0.01, 0.01, 0.01, 0.01});
    const problem original({a}, costs, 15.0);
    const problem sampled({a}, costs, 15.0, mode::mainstream, quality_model::sampled);
    CHECK(original.model() == quality_model::mainstream);
    CHECK(sampled.model() == quality_model::sampled);
    for (const option& o : sampled.options(0)) {
        const curve_point& p = o.num_frozen == 0 ? a.curve[0] : a.curve[1];
        CHECK(o.quality == sampled_event_quality(p.true_positive_rate, p.false_positive_rate, sampled.params(0), o.fps));
    }
    CHECK(original.quality(0, 0, 5.0) == event_quality(0.9, 0.1, original.params(0), 5.0));
}
