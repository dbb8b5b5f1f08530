// Ekya's scheduling (DESIGN.md section 7): the score against hand-computed windows, the thief
// against an exhaustive search over the same share grid, the baselines, and bad input.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/sched/ekya/brute_force.hpp>
#include <stemshare/sched/ekya/fair.hpp>
#include <stemshare/sched/ekya/no_retrain.hpp>
#include <stemshare/sched/ekya/score.hpp>
#include <stemshare/sched/ekya/thief.hpp>

namespace ekya = stemshare::sched::ekya;

namespace {

ekya::retrain_option option(double predicted, int epochs, double seconds_per_epoch, double startup = 0.0,
                            std::size_t train_from = 0, double subsample = 1.0) {
    return {{train_from, subsample, epochs}, predicted, seconds_per_epoch, startup};
}

ekya::camera cam(std::string name, double accuracy, std::vector<ekya::retrain_option> options,
                 double full_share = 0.5) {
    return {std::move(name), accuracy, ekya::inference_curve(full_share), std::move(options), std::nullopt, 0.0};
}

}  // namespace

TEST_CASE("ekya: inference curve interpolates Ekya's table") {
    const ekya::inference_curve c(0.5);
    CHECK(c.scale(0.5) == doctest::Approx(1.0));
    CHECK(c.scale(2.0) == doctest::Approx(1.0));
    CHECK(c.scale(0.25) == doctest::Approx(0.45 / 0.95));
    CHECK(c.scale(0.5 / 20) == doctest::Approx(0.0));
    CHECK(c.scale(0.01) == 0.0);
    const ekya::inference_curve measured(1.0, {{0.1, 0.2}, {0.5, 0.6}, {1.0, 0.9}});
    CHECK(measured.scale(0.3) == doctest::Approx(0.4));
    CHECK(measured.scale(0.75) == doctest::Approx(0.75));
    CHECK(measured.scale(0.05) == 0.0);
}

TEST_CASE("ekya: score of one camera against a hand-computed window") {
    ekya::window w;
    w.cameras = {cam("a", 0.5, {option(0.9, 2, 1.0)})};
    w.seconds = 10;
    // Training at 0.5 needs 2 CPU-seconds: done after 4 s; then inference gets the whole box.
    const ekya::allocation a{{0.5, 0.5, 0}};
    ekya::validate(a, w);
    const auto e = ekya::simulate(w, a);
    CHECK(e[0].retrained_at == doctest::Approx(4.0));
    CHECK(ekya::score(w, a) == doctest::Approx((4 * 0.5 + 6 * 0.9) / 10));
    // Without the option it stays at the old accuracy.
    CHECK(ekya::score(w, ekya::allocation{{1.0, 0.0, std::nullopt}}) == doctest::Approx(0.5));
}

TEST_CASE("ekya: score splits a completed job's share among the remaining jobs") {
    ekya::window w;
    w.cameras = {cam("a", 0.5, {option(0.8, 2, 0.25)}), cam("b", 0.6, {})};
    w.seconds = 4;
    const ekya::allocation a{{0.25, 0.25, 0}, {0.5, 0.0, std::nullopt}};
    ekya::validate(a, w);
    const auto e = ekya::simulate(w, a);
    // a: 2 s at scale(0.25) = 0.45/0.95, done after 0.5 CPU-s at 0.25 = 2 s; its 0.25 goes half to
    // each inference job: a at 0.375 (scale 0.70/0.95), b at 0.625 (scale 1).
    const double a_mean = (2 * 0.5 * (0.45 / 0.95) + 2 * 0.8 * (0.70 / 0.95)) / 4;
    CHECK(e[0].retrained_at == doctest::Approx(2.0));
    CHECK(e[0].mean_accuracy == doctest::Approx(a_mean));
    CHECK(e[1].mean_accuracy == doctest::Approx(0.6));
    CHECK(e[1].retrained_at < 0);
    CHECK(ekya::score(w, a) == doctest::Approx((a_mean + 0.6) / 2));
}

TEST_CASE("ekya: score counts the work a running retraining already received") {
    ekya::window w;
    w.cameras = {cam("a", 0.5, {option(0.9, 2, 1.0)})};
    w.cameras[0].running = 0;
    w.cameras[0].work_done = 1.5;
    w.seconds = 10;
    const auto e = ekya::simulate(w, ekya::allocation{{0.5, 0.5, 0}});
    CHECK(e[0].retrained_at == doctest::Approx(1.0));
}

TEST_CASE("ekya: thief equals a brute-force search over the same share grid on two jobs") {
    const ekya::thief_scheduler thief;
    const ekya::brute_force_scheduler brute;
    SUBCASE("one camera, two jobs") {
        ekya::window w;
        w.cameras = {cam("a", 0.4, {option(0.7, 5, 2.0), option(0.85, 15, 3.0, 4.0), option(0.6, 5, 0.5),
                                    option(0.3, 5, 0.1)})};
        w.seconds = 60;
        const auto t = thief.allocate(w);
        const auto b = brute.allocate(w);
        ekya::validate(t, w);
        CHECK(ekya::score(w, t) == doctest::Approx(ekya::score(w, b)).epsilon(1e-9));
        CHECK(ekya::score(w, t) > 0.4);  // retraining pays here
    }
    SUBCASE("seeded random windows of one camera, two jobs") {
        std::mt19937 rng(18);
        std::uniform_real_distribution<double> acc(0.2, 0.9), spe(0.2, 4.0);
        std::uniform_int_distribution<int> epochs(1, 30);
        for (int trial = 0; trial < 30; ++trial) {
            ekya::window w;
            w.seconds = 40;
            std::vector<ekya::retrain_option> options;
            for (int k = 0; k < 3; ++k) options.push_back(option(acc(rng), epochs(rng), spe(rng)));
            w.cameras = {cam("a", acc(rng), options, 0.3 + 0.1 * (trial % 4))};
            const auto t = thief.allocate(w);
            ekya::validate(t, w);
            CAPTURE(trial);
            CHECK(ekya::score(w, t) == doctest::Approx(ekya::score(w, brute.allocate(w))).epsilon(1e-9));
        }
    }
}

// With three jobs the thief is a local search (one pass of pairwise steals from an equal split,
// options chosen at the current shares) and can stop below the grid's optimum: on these seeded
// windows it matched the brute force on 14 of 20 and was at most 0.074 below (docs/ekya.md). The case
// checks that it never beats the exhaustive search (which would mean one of them is wrong) and that
// its allocation is valid, and prints how often and by how much it falls short.
TEST_CASE("ekya: thief against a brute-force search on three jobs") {
    const ekya::thief_scheduler thief;
    const ekya::brute_force_scheduler brute;
    std::mt19937 rng(18);
    std::uniform_real_distribution<double> acc(0.2, 0.9), spe(0.2, 4.0);
    std::uniform_int_distribution<int> epochs(1, 30);
    int matched = 0;
    double worst = 0;
    for (int trial = 0; trial < 20; ++trial) {
        ekya::window w;
        w.seconds = 40;
        w.box = 0.9;
        std::vector<ekya::retrain_option> options;
        for (int k = 0; k < 3; ++k) options.push_back(option(acc(rng), epochs(rng), spe(rng)));
        w.cameras = {cam("a", acc(rng), options, 0.3 + 0.1 * (trial % 4)), cam("b", acc(rng), {}, 0.4)};
        const auto t = thief.allocate(w);
        ekya::validate(t, w);
        const double thief_score = ekya::score(w, t);
        const double best = ekya::score(w, brute.allocate(w));
        CAPTURE(trial);
        CHECK(thief_score <= best + 1e-9);
        if (thief_score >= best - 1e-9) ++matched;
        worst = std::max(worst, best - thief_score);
    }
    MESSAGE("thief matched the brute force on " << matched << " of 20 three-job windows, worst gap " << worst);
    CHECK(matched > 0);
}

TEST_CASE("ekya: thief keeps a running retraining's option on re-allocation") {
    ekya::window w;
    w.cameras = {cam("a", 0.4, {option(0.95, 30, 5.0), option(0.6, 5, 1.0)}), cam("b", 0.5, {})};
    w.cameras[0].running = 1;
    w.cameras[0].work_done = 2.0;
    w.seconds = 30;
    const auto a = ekya::thief_scheduler{}.allocate(w);
    ekya::validate(a, w);
    REQUIRE(a[0].option);
    CHECK(*a[0].option == 1);
}

TEST_CASE("ekya: fair and no-retrain baselines") {
    ekya::window w;
    const ekya::retrain_config fixed{0, 0.5, 15};
    w.cameras = {cam("a", 0.4, {option(0.7, 5, 1.0), {fixed, 0.8, 2.0, 0.0}}),
                 cam("b", 0.5, {{fixed, 0.6, 1.0, 0.0}}), cam("done", 0.9, {})};
    w.box = 1.2;
    const auto f = ekya::fair_scheduler(fixed).allocate(w);
    ekya::validate(f, w);
    // a and b: 0.2 + 0.2; "done" has no training job, its 0.2 goes to the five jobs.
    CHECK(f[0].inference == doctest::Approx(0.24));
    CHECK(f[0].training == doctest::Approx(0.24));
    CHECK(f[0].option == std::optional<std::size_t>{1});
    CHECK(f[1].option == std::optional<std::size_t>{0});
    CHECK(f[2].inference == doctest::Approx(0.24));
    CHECK(f[2].training == 0);
    const auto n = ekya::no_retrain_scheduler{}.allocate(w);
    for (const auto& s : n) {
        CHECK(s.inference == doctest::Approx(0.4));
        CHECK(s.training == 0);
        CHECK_FALSE(s.option);
    }
    CHECK_THROWS_WITH_AS((void)ekya::fair_scheduler(ekya::retrain_config{3, 0.1, 5}).allocate(w),
                         doctest::Contains("camera 'a'"), stemshare::error);
}

TEST_CASE("ekya: bad windows and allocations give named errors") {
    const ekya::thief_scheduler thief;
    ekya::window empty;
    CHECK_THROWS_WITH_AS((void)thief.allocate(empty), doctest::Contains("no cameras"), stemshare::error);
    ekya::window w;
    w.cameras = {cam("a", 0.5, {option(0.9, 2, 1.0)})};
    w.seconds = -5;
    CHECK_THROWS_WITH_AS((void)thief.allocate(w), doctest::Contains("seconds must be positive"), stemshare::error);
    w.seconds = 10;
    CHECK_THROWS_WITH_AS(ekya::validate(ekya::allocation{{0.5, 0.4, 0}}, w), doctest::Contains("shares sum to"),
                         stemshare::error);
    CHECK_THROWS_WITH_AS(ekya::validate(ekya::allocation{{0.5, 0.5, std::nullopt}}, w),
                         doctest::Contains("camera 'a': training share without"), stemshare::error);
    CHECK_THROWS_WITH_AS(ekya::validate(ekya::allocation{{0.5, 0.5, 3}}, w), doctest::Contains("option names no"),
                         stemshare::error);
    w.cameras[0].options[0].seconds_per_epoch = 0;
    CHECK_THROWS_WITH_AS(ekya::validate(w), doctest::Contains("camera 'a' option 0"), stemshare::error);
    w.cameras[0].options[0].seconds_per_epoch = 1;
    w.cameras[0].accuracy = 1.5;
    CHECK_THROWS_WITH_AS(ekya::validate(w), doctest::Contains("accuracy must be in [0, 1]"), stemshare::error);
    CHECK_THROWS_AS(ekya::inference_curve(0.5, {{0.5, 0.2}, {0.4, 0.3}}), stemshare::error);
}
