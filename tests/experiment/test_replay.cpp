// Replay accounting: frame selection by rate, drops while busy, stem sharing, plan cost.
#include <doctest/doctest.h>

#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/replay.hpp>

using namespace stemshare;
using experiment::replay_app;

TEST_CASE("replay: a cheap app at the stream rate processes every frame") {
    const std::vector<double> layers{0.001, 0.002};
    const std::vector<replay_app> apps{{1, 10.0}};
    const auto r = experiment::replay(apps, layers, 10.0, 100);
    CHECK(r.dropped_frames == 0);
    CHECK(r.processed_frames == 100);
    CHECK(r.achieved_fps[0] == doctest::Approx(10.0));
    CHECK(r.measured_load == doctest::Approx(0.03));
    CHECK(r.planned_cost == doctest::Approx(0.03));
}

TEST_CASE("replay: an app at a third of the stream rate takes every third frame") {
    const std::vector<double> layers{0.001};
    const std::vector<replay_app> apps{{0, 5.0}};
    const auto r = experiment::replay(apps, layers, 15.0, 30);
    for (std::size_t j = 0; j < 30; ++j) CHECK(r.processed[0][j] == (j % 3 == 0));
    CHECK(r.achieved_fps[0] == doctest::Approx(5.0));
}

TEST_CASE("replay: frames that arrive while the box is busy are dropped, not queued") {
    // 0.15 s of work per frame at 10 fps: frame 0 keeps the box busy past frame 1's arrival.
    const std::vector<double> layers{0.15};
    const std::vector<replay_app> apps{{0, 10.0}};
    const auto r = experiment::replay(apps, layers, 10.0, 10);
    for (std::size_t j = 0; j < 10; ++j) CHECK(r.processed[0][j] == (j % 2 == 0));
    CHECK(r.dropped_frames == 5);
    CHECK(r.achieved_fps[0] == doctest::Approx(5.0));
    CHECK(r.planned_cost == doctest::Approx(1.5));  // the plan asks for 1.5 s of work per second
    CHECK(r.measured_load == doctest::Approx(0.75));
}

TEST_CASE("replay: with second-copy latencies a layer's further copies in a frame cost less") {
    const std::vector<double> layers{0.010, 0.020, 0.004};
    const std::vector<double> second{0.006, 0.012, 0.001};
    // Layers 0 and 1 shared (one copy each), layer 2 run by both apps: first copy, then a second.
    const std::vector<replay_app> shared{{2, 5.0}, {2, 5.0}};
    CHECK(experiment::frame_seconds(shared, {true, true}, layers, second) ==
          doctest::Approx(0.030 + 0.004 + 0.001));
    // Nothing shared: each layer once at its first-copy time and once more at its second.
    const std::vector<replay_app> alone{{0, 5.0}, {0, 5.0}, {0, 5.0}};
    CHECK(experiment::frame_seconds(alone, {true, true, true}, layers, second) ==
          doctest::Approx(0.034 + 2 * 0.019));
    // One app alone pays only first copies, as without the second-copy table.
    CHECK(experiment::frame_seconds(alone, {false, true, false}, layers, second) == doctest::Approx(0.034));
    // The replay charges frames that way, and refuses a table of another length.
    const auto r = experiment::replay(alone, layers, 15.0, 30, second);
    CHECK(r.busy_seconds == doctest::Approx(10 * (0.034 + 2 * 0.019)));
    const std::vector<double> short_table{0.001};
    CHECK_THROWS_WITH_AS((void)experiment::replay(alone, layers, 15.0, 30, short_table),
                         doctest::Contains("second_copy_seconds has 1 layers"), stemshare::error);
}

TEST_CASE("replay: apps share the layers below their branch points") {
    const std::vector<double> layers{0.010, 0.020, 0.004};
    // Both apps share layers 0 and 1 and run their own layer 2.
    const std::vector<replay_app> shared{{2, 5.0}, {2, 5.0}};
    CHECK(experiment::frame_seconds(shared, {true, true}, layers) == doctest::Approx(0.030 + 2 * 0.004));
    // Nothing shared: each app runs all three layers.
    const std::vector<replay_app> alone{{0, 5.0}, {0, 5.0}};
    CHECK(experiment::frame_seconds(alone, {true, true}, layers) == doctest::Approx(2 * 0.034));
    // Only the wanting apps' work counts.
    CHECK(experiment::frame_seconds(alone, {false, true}, layers) == doctest::Approx(0.034));
    // Cost per second: shared layers at the max rate, own copies at each app's rate.
    const std::vector<replay_app> mixed{{2, 5.0}, {1, 2.0}};
    CHECK(experiment::plan_cost(mixed, layers) ==
          doctest::Approx(0.010 * 5.0 + 0.020 * (5.0 + 2.0) + 0.004 * (5.0 + 2.0)));
    const auto r = experiment::replay(shared, layers, 15.0, 150);
    CHECK(r.dropped_frames == 0);
    CHECK(r.measured_load == doctest::Approx(r.planned_cost));
}

TEST_CASE("replay: rates above the stream rate or branch points past the table are refused") {
    const std::vector<double> layers{0.001};
    const std::vector<replay_app> fast{{0, 20.0}};
    CHECK_THROWS_WITH_AS((void)experiment::replay(fast, layers, 15.0, 10), doctest::Contains("app 0"),
                         stemshare::error);
    const std::vector<replay_app> deep{{3, 5.0}};
    CHECK_THROWS_AS((void)experiment::replay(deep, layers, 15.0, 10), stemshare::error);
}

TEST_CASE("replay: an app under a faster shared stem takes the frames the runtime gives it") {
    // docs/runtime.md section 4: F = 15, a stem at 5 fps, an app at 3 fps below it takes stream
    // frames 0, 6, 12, 15, 21, ...; the stem runs exactly at 5 fps, so load equals the plan's cost.
    const std::vector<double> layers{0.001, 0.001, 0.0005};
    const std::vector<replay_app> apps{{2, 5.0}, {2, 3.0}};
    const auto r = experiment::replay(apps, layers, 15.0, 30);
    std::vector<std::size_t> taken;
    for (std::size_t j = 0; j < 30; ++j)
        if (r.processed[1][j]) taken.push_back(j);
    CHECK(taken == std::vector<std::size_t>{0, 6, 12, 15, 21, 27});
    for (std::size_t j = 0; j < 30; ++j) CHECK(r.processed[0][j] == (j % 3 == 0));
    CHECK(r.measured_load == doctest::Approx(r.planned_cost));
}

TEST_CASE("replay: a rate that rounds to 0 thousandths of a frame per second is refused, not divided by") {
    const std::vector<double> layers{0.001};
    const std::vector<replay_app> slow{{0, 5.0}, {0, 0.0004}};
    CHECK_THROWS_WITH_AS((void)experiment::replay(slow, layers, 15.0, 10),
                         doctest::Contains("app 1: frame rate 0.000400 rounds to 0 thousandths"),
                         stemshare::error);
    const std::vector<replay_app> apps{{0, 0.0001}};
    CHECK_THROWS_WITH_AS((void)experiment::replay(apps, layers, 0.0002, 10),
                         doctest::Contains("stream frame rate 0.000200 rounds to 0 thousandths"),
                         stemshare::error);
}

TEST_CASE("replay: staggered apps at one rate take different frames and drop less") {
    // A whole model at 15 fps and three at 1 fps, 0.03 s of work each. On the same frames the
    // three slow ones land with the fast one on frame 0 of every second (0.12 s of work, longer
    // than the 1/15 s to the next frame, so the fast app loses a frame each second); staggered
    // (phases 0, 5, 10) no frame holds more than two models (0.06 s) and nothing is dropped.
    const std::vector<double> layers{0.03};
    std::vector<replay_app> apps{{0, 15.0}, {0, 1.0}, {0, 1.0}, {0, 1.0}};
    const auto same = experiment::replay(apps, layers, 15.0, 150);
    const std::vector<std::uint64_t> phases = experiment::stagger_phases(apps, 15.0);
    CHECK(phases == std::vector<std::uint64_t>{0, 0, 5, 10});
    for (std::size_t a = 0; a < apps.size(); ++a) apps[a].phase = phases[a];
    const auto staggered = experiment::replay(apps, layers, 15.0, 150);
    CHECK(same.dropped_frames == 10);
    CHECK(staggered.dropped_frames == 0);
    for (std::size_t j = 0; j < 150; ++j)
        for (std::size_t a = 1; a < 4; ++a) CHECK(staggered.processed[a][j] == (j % 15 == 5 * (a - 1)));
    CHECK(staggered.achieved_fps[0] == doctest::Approx(15.0));
    for (std::size_t a = 1; a < 4; ++a) CHECK(staggered.achieved_fps[a] == doctest::Approx(1.0));
}

TEST_CASE("replay: only branch-point-0 apps get a phase") {
    const std::vector<replay_app> mixed{{0, 5.0}, {2, 5.0}, {0, 5.0}, {0, 3.0}};
    CHECK(experiment::stagger_phases(mixed, 15.0) == std::vector<std::uint64_t>{0, 0, 1, 0});
    const std::vector<replay_app> bad{{2, 5.0, 1}};
    CHECK_THROWS_WITH_AS((void)experiment::replay(bad, std::vector<double>{0.01, 0.01, 0.01}, 15.0, 10),
                         doctest::Contains("a phase needs branch point 0"), stemshare::error);
}

TEST_CASE("replay: a per-step cost is charged once per stem step and suffix a frame runs") {
    const std::vector<double> layers{0.010, 0.020, 0.004};
    const double step = 0.001;
    // Apps at branch points 1 and 2: stem steps [0, 1) and [1, 2), then one suffix per app.
    const std::vector<replay_app> apps{{1, 5.0}, {2, 5.0}, {2, 5.0}};
    const auto both = experiment::frame_parts(apps, {true, true, true}, layers);
    CHECK(both.steps == 2 + 3);
    CHECK(both.first_seconds == doctest::Approx(0.034));
    // Layer 1 runs in the stem and in app 0's suffix, layer 2 in all three suffixes.
    CHECK(both.further_seconds == doctest::Approx(0.020 + 2 * 0.004));
    CHECK(experiment::frame_seconds(apps, {true, true, true}, layers, {}, step) ==
          doctest::Approx(0.034 + 0.028 + 5 * step));
    // Only app 0 wants the frame: the stem step to 2 is not needed; app 2 alone still needs both.
    CHECK(experiment::frame_parts(apps, {true, false, false}, layers).steps == 1 + 1);
    CHECK(experiment::frame_parts(apps, {false, false, true}, layers).steps == 2 + 1);
    // Branch point 0 needs no stem step.
    const std::vector<replay_app> alone{{0, 5.0}, {0, 5.0}};
    CHECK(experiment::frame_parts(alone, {true, true}, layers).steps == 2);
    // The replay charges it per processed frame, and refuses a negative one.
    const auto r = experiment::replay(alone, layers, 15.0, 30, {}, step);
    CHECK(r.busy_seconds == doctest::Approx(10 * (2 * 0.034 + 2 * step)));
    CHECK_THROWS_WITH_AS((void)experiment::replay(alone, layers, 15.0, 30, {}, -step),
                         doctest::Contains("step_seconds"), stemshare::error);
}
