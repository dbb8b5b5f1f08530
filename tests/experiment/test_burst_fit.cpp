// burst_fit: plans whose per-frame bursts fit the gaps between wanted frames (issue 15).
#include <doctest/doctest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/burst_fit.hpp>
#include <stemshare/sched/planner.hpp>

using namespace stemshare;
using experiment::replay_app;

namespace {

// Ten apps at branch point 0 on one layer of `layer_s` seconds, all at the highest whole fps of
// 1..15 whose average cost fits `budget` (a planner that spends what it is given).
sched::plan ten_apps_at_best_fps(double budget, double layer_s) {
    sched::plan pl;
    pl.budget = budget;
    double fps = 0.0;
    for (int f = 1; f <= 15; ++f)
        if (10.0 * f * layer_s <= budget) fps = f;
    if (fps == 0.0) throw error("ten_apps_at_best_fps", "budget below the cheapest plan");
    for (int a = 0; a < 10; ++a)
        pl.apps.push_back({.num_frozen = 0, .fps = fps, .quality = {}, .suffix_cost = fps * layer_s});
    pl.cost = 10.0 * fps * layer_s;
    return pl;
}

std::vector<replay_app> replay_apps(const sched::plan& pl) {
    std::vector<replay_app> out;
    for (const auto& a : pl.apps) out.push_back({static_cast<std::size_t>(a.num_frozen), a.fps});
    return out;
}

// Two apps sharing a stem, layers of 4, 2 and 1 ms, stream 15 fps: Mainstream's search space.
sched::problem two_app_problem() {
    sched::app_spec x;
    x.name = "x";
    x.event_length_ms = 1000;
    x.event_frequency = 0.3;
    x.curve = {{0, 0.95, 0.05}, {1, 0.85, 0.1}, {2, 0.7, 0.2}};
    sched::app_spec y = x;
    y.name = "y";
    y.curve = {{0, 0.9, 0.02}, {1, 0.8, 0.1}, {2, 0.6, 0.1}};
    sched::app_spec z = x;
    z.name = "z";
    z.event_frequency = 0.1;
    return sched::problem({x, y, z}, sched::cost_model({0.004, 0.002, 0.001}), 15.0);
}

}  // namespace

TEST_CASE("burst_fit: the pattern of wanted frames repeats after lcm(F / gcd(F, r)) stream frames") {
    const std::vector<replay_app> same{{0, 4.0}, {0, 4.0}};
    CHECK(experiment::pattern_period(same, 15.0, 1'000'000) == 15);
    const std::vector<replay_app> mixed{{2, 4.0}, {1, 5.0}, {0, 0.1}};
    CHECK(experiment::pattern_period(mixed, 15.0, 1'000'000) == 150);
    CHECK(experiment::pattern_period(mixed, 15.0, 100) == 100);  // saturates at the cap
    // The replay's frames really repeat with that period, stems (apps 0 and 1 share layers) included.
    const std::vector<double> cheap{1e-6, 1e-6, 1e-6};
    const auto r = experiment::replay(mixed, cheap, 15.0, 3 * 150);
    REQUIRE(r.dropped_frames == 0);
    for (std::size_t a = 0; a < mixed.size(); ++a)
        for (std::size_t j = 0; j + 150 < 3 * 150; ++j) {
            CAPTURE(a);
            CAPTURE(j);
            CHECK(r.processed[a][j] == r.processed[a][j + 150]);
        }
}

TEST_CASE("burst_fit: ten apps at 4 of 15 fps whose average fits but whose bursts do not are refitted") {
    // Box of B = 1: a frame for all ten apps takes 10 x 24.75 ms = 0.2475 s, the plan's average is
    // 0.99 s per second, and the shortest gap between wanted frames is 3 frames = 0.2 s.
    const double layer_s = 0.02475;
    const std::vector<double> layers{layer_s};
    const sched::plan unfitted = ten_apps_at_best_fps(1.0, layer_s);
    REQUIRE(unfitted.apps.front().fps == 4.0);
    const auto drops = experiment::check_bursts(replay_apps(unfitted), layers, 15.0, 0.0, 1'000'000);
    CHECK(drops.dropped_frames > 0);
    // Over a minute the planned 4 fps is really 3.
    const auto minute = experiment::replay(replay_apps(unfitted), layers, 15.0, 900);
    CHECK(minute.achieved_fps[0] == doctest::Approx(3.0).epsilon(0.02));

    const auto fit =
        experiment::burst_fit([&](double b) { return ten_apps_at_best_fps(b, layer_s); }, layers, 15.0, 1.0);
    REQUIRE(fit.fits);
    CHECK(fit.dropped_frames == 0);
    CHECK(fit.whole_period);
    CHECK(fit.tries > 1);
    CHECK(fit.fitted_budget < 1.0);
    CHECK(fit.plan.budget == 1.0);
    CHECK(fit.plan.cost <= fit.fitted_budget);
    CHECK(fit.plan.apps.front().fps == 3.0);  // every gap 5 frames (0.33 s): room for the 0.2475 s frame
    // One period was enough: ten minutes of the fitted plan drop nothing and keep every planned rate.
    const auto ten_minutes = experiment::replay(replay_apps(fit.plan), layers, 15.0, 9000);
    CHECK(ten_minutes.dropped_frames == 0);
    for (std::size_t a = 0; a < fit.plan.apps.size(); ++a)
        CHECK(ten_minutes.achieved_fps[a] == doctest::Approx(fit.plan.apps[a].fps));
}

TEST_CASE("burst_fit: a plan whose frames already fit is the planner's plan, unchanged") {
    const std::vector<double> layers{0.01};
    const auto fit =
        experiment::burst_fit([](double b) { return ten_apps_at_best_fps(b, 0.01); }, layers, 15.0, 0.55);
    REQUIRE(fit.fits);
    CHECK(fit.tries == 1);
    CHECK(fit.fitted_budget == 0.55);
    CHECK(fit.plan == ten_apps_at_best_fps(0.55, 0.01));
}

TEST_CASE("burst_fit: Mainstream's greedy, fitted, drops no frame where the original does") {
    const sched::problem p = two_app_problem();
    const std::vector<double> layers = p.costs().latencies();
    int refitted = 0;
    for (double budget = 0.02; budget <= 0.6; budget += 0.01) {
        CAPTURE(budget);
        const sched::plan original = sched::run_planner(sched::planner_kind::mainstream_greedy, p, budget);
        std::vector<double> box;
        for (double l : layers) box.push_back(l / budget);
        const auto fit = experiment::burst_fit(
            [&](double b) { return sched::run_planner(sched::planner_kind::mainstream_greedy, p, b); },
            layers, 15.0, budget);
        REQUIRE(fit.fits);
        CHECK(fit.plan.cost <= budget * (1.0 + 1e-12));
        const auto minute = experiment::replay(replay_apps(fit.plan), box, 15.0, 900);
        CHECK(minute.dropped_frames == 0);
        const bool original_drops =
            experiment::check_bursts(replay_apps(original), box, 15.0, 0.0, 1'000'000).dropped_frames > 0;
        if (original_drops) {
            ++refitted;
            CHECK(fit.tries > 1);
        } else {
            CHECK(fit.plan.apps == original.apps);
        }
    }
    CHECK(refitted > 0);  // the range holds budgets where the original plan's bursts do not fit
}

TEST_CASE("burst_fit: cap_rates keeps the branch points and lowers rates, burst_plan takes the better fit") {
    const sched::problem p = two_app_problem();
    const std::vector<double> layers = p.costs().latencies();
    int capped_some = 0;
    for (double budget = 0.02; budget <= 0.6; budget += 0.01) {
        CAPTURE(budget);
        const sched::plan original = sched::run_planner(sched::planner_kind::mainstream_greedy, p, budget);
        const auto capped = experiment::cap_rates(p, original, layers, budget);
        REQUIRE(capped.fits);
        REQUIRE(capped.plan.apps.size() == original.apps.size());
        for (std::size_t a = 0; a < original.apps.size(); ++a) {
            CHECK(capped.plan.apps[a].num_frozen == original.apps[a].num_frozen);
            CHECK(capped.plan.apps[a].fps <= original.apps[a].fps);
            if (capped.rate_cap > 0.0) CHECK(capped.plan.apps[a].fps <= capped.rate_cap);
        }
        if (capped.rate_cap > 0.0) {
            ++capped_some;
            CHECK(capped.plan.cost < original.cost);
        } else {
            CHECK(capped.plan == original);
        }
        std::vector<double> box;
        for (double l : layers) box.push_back(l / budget);
        CHECK(experiment::replay(replay_apps(capped.plan), box, 15.0, 900).dropped_frames == 0);

        const auto lowered = experiment::burst_fit(
            [&](double b) { return sched::run_planner(sched::planner_kind::mainstream_greedy, p, b); },
            layers, 15.0, budget);
        const auto chosen = experiment::burst_plan(p, sched::planner_kind::mainstream_greedy, budget, layers);
        REQUIRE(chosen.fits);
        CHECK(sched::compare(chosen.plan, lowered.plan, sched::objective::mean) >= 0);
        CHECK(sched::compare(chosen.plan, capped.plan, sched::objective::mean) >= 0);
        CHECK((chosen.plan == lowered.plan || chosen.plan == capped.plan));
    }
    CHECK(capped_some > 0);
}

TEST_CASE("burst_fit: the margin charges each frame more, and a hopeless plan says it does not fit") {
    const std::vector<double> layers{0.01};
    // 10 apps x 10 ms at 5 fps on a box of B = 0.55: 0.18 s fits a 0.2 s gap; charged 2.5x it does not.
    const auto plain =
        experiment::burst_fit([](double b) { return ten_apps_at_best_fps(b, 0.01); }, layers, 15.0, 0.55);
    const auto padded = experiment::burst_fit([](double b) { return ten_apps_at_best_fps(b, 0.01); }, layers,
                                              15.0, 0.55, {.margin = 1.5});
    REQUIRE(plain.fits);
    REQUIRE(padded.fits);
    CHECK(padded.plan.apps.front().fps < plain.plan.apps.front().fps);
    // At the cheapest plan (1 fps, gaps of 1 s) a frame takes 10 x 0.3 s / B = 1 s on the box of B = 3,
    // and 2 s with margin 1: no plan of this planner fits, and the search ends on its error.
    const std::vector<double> slow{0.3};
    const auto hopeless = experiment::burst_fit([](double b) { return ten_apps_at_best_fps(b, 0.3); }, slow,
                                                15.0, 3.0, {.margin = 1.0});
    CHECK_FALSE(hopeless.fits);
    CHECK(hopeless.dropped_frames > 0);
    CHECK(hopeless.tries == 1);
    CHECK(hopeless.plan.budget == 3.0);
    // A budget below the cheapest plan is the planner's own error.
    CHECK_THROWS_WITH_AS(
        (void)experiment::burst_fit([](double b) { return ten_apps_at_best_fps(b, 0.3); }, slow, 15.0, 1.0),
        doctest::Contains("budget below the cheapest plan"), error);
    CHECK_THROWS_WITH_AS((void)experiment::burst_fit([](double b) { return ten_apps_at_best_fps(b, 0.01); },
                                                     layers, 15.0, 0.55, {.margin = -0.1}),
                         doctest::Contains("margin"), error);
    CHECK_THROWS_WITH_AS((void)experiment::burst_fit([](double b) { return ten_apps_at_best_fps(b, 0.01); },
                                                     layers, 15.0, 0.0),
                         doctest::Contains("budget"), error);
}

TEST_CASE("burst_fit: the per-step cost counts when a plan's frames are fitted") {
    // Ten apps at 4 of 15 fps on one 4 ms layer: a frame of all ten takes 40 ms, well inside the
    // 200 ms between wanted frames. A per-step cost of 20 ms (10 suffixes) makes it 240 ms: the
    // frames no longer fit, and burst_fit lowers the budget until they do.
    const double layer = 0.004;
    const auto plan_for = [&](double budget) { return ten_apps_at_best_fps(budget, layer); };
    const std::vector<double> layers{layer};
    const double budget = 10.0 * 4.0 * layer;
    const auto plain = experiment::burst_fit(plan_for, layers, 15.0, budget, {.box_share = 1.0});
    CHECK(plain.fits);
    CHECK(plain.plan.apps.front().fps == 4.0);
    const auto stepped =
        experiment::burst_fit(plan_for, layers, 15.0, budget, {.box_share = 1.0, .step_seconds = 0.020});
    CHECK(stepped.fits);
    CHECK(stepped.plan.apps.front().fps < 4.0);
    const auto r = experiment::replay(replay_apps(stepped.plan), layers, 15.0, 900, {}, 0.020);
    CHECK(r.dropped_frames == 0);
    CHECK(experiment::replay(replay_apps(plain.plan), layers, 15.0, 900, {}, 0.020).dropped_frames > 0);
    CHECK_THROWS_WITH_AS((void)experiment::burst_fit(plan_for, layers, 15.0, budget, {.step_seconds = -1.0}),
                         doctest::Contains("step_seconds"), stemshare::error);
}
