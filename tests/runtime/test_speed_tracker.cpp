#include <doctest/doctest.h>

#include <optional>

#include <stemshare/runtime/speed_tracker.hpp>

using stemshare::runtime::speed_tracker;

TEST_CASE("speed_tracker: a window off the speed in use by more than the tolerance moves it") {
    speed_tracker t({.window_seconds = 1.0, .tolerance = 0.1, .min_frames = 2});
    // Window [0, 1): executor at 1.05x the model, within 10%: measured, the speed stays 1.
    CHECK_FALSE(t.add(0.0, 105e-6, 100e-6).has_value());
    CHECK_FALSE(t.add(0.5, 105e-6, 100e-6).has_value());
    // Window [1, 2): 1.3x. The frame at 1.0 closes the first window (no change) and opens this one.
    CHECK_FALSE(t.add(1.0, 120e-6, 100e-6).has_value());
    CHECK_FALSE(t.add(1.5, 140e-6, 100e-6).has_value());
    CHECK(t.speed() == 1.0);
    // The frame at 2.2 closes it: 260 / 200 = 1.3 moves the speed.
    const std::optional<double> moved = t.add(2.2, 130e-6, 100e-6);
    REQUIRE(moved.has_value());
    CHECK(*moved == doctest::Approx(1.3));
    CHECK(t.speed() == doctest::Approx(1.3));
    CHECK(t.changes() == 1);
    REQUIRE(t.windows().size() == 2);
    CHECK(t.windows()[0] == doctest::Approx(1.05));
    CHECK(t.windows()[1] == doctest::Approx(1.3));
    // Window [2, 3) holds 1.3 and 1.4; 1.35 is within 10% of 1.3: no change. Windows with no
    // frame ([3, 5)) are skipped.
    CHECK_FALSE(t.add(2.7, 140e-6, 100e-6).has_value());
    CHECK_FALSE(t.add(5.1, 100e-6, 100e-6).has_value());
    REQUIRE(t.windows().size() == 3);
    CHECK(t.windows()[2] == doctest::Approx(1.35));
    CHECK(t.speed() == doctest::Approx(1.3));
}

TEST_CASE("speed_tracker: too few frames or a zero tolerance measure without moving the speed") {
    speed_tracker few({.window_seconds = 1.0, .tolerance = 0.1, .min_frames = 3});
    CHECK_FALSE(few.add(0.0, 300e-6, 100e-6).has_value());
    CHECK_FALSE(few.add(1.0, 300e-6, 100e-6).has_value());  // one frame in [0, 1): measured only
    CHECK(few.windows().size() == 1);
    CHECK(few.speed() == 1.0);

    speed_tracker measure_only({.window_seconds = 1.0, .tolerance = 0.0, .min_frames = 1});
    for (int i = 0; i < 5; ++i) CHECK_FALSE(measure_only.add(i * 0.5, 300e-6, 100e-6).has_value());
    CHECK(measure_only.windows().size() == 2);
    CHECK(measure_only.windows()[0] == doctest::Approx(3.0));
    CHECK(measure_only.changes() == 0);

    // Frames that took no measurable time say nothing about the box's speed.
    speed_tracker zero({.window_seconds = 1.0, .tolerance = 0.1, .min_frames = 1});
    CHECK_FALSE(zero.add(0.0, 0.0, 100e-6).has_value());
    CHECK_FALSE(zero.add(1.0, 0.0, 100e-6).has_value());
    CHECK(zero.windows().size() == 1);
    CHECK(zero.speed() == 1.0);
}

TEST_CASE("speed_tracker: a window that is not positive or a negative tolerance is refused by name") {
    CHECK_THROWS_WITH_AS(speed_tracker({.window_seconds = 0.0}), doctest::Contains("window_seconds"),
                         stemshare::error);
    CHECK_THROWS_WITH_AS(speed_tracker({.window_seconds = 1.0, .tolerance = -0.1}),
                         doctest::Contains("tolerance"), stemshare::error);
}

TEST_CASE("speed_tracker: finish measures the last, partial window without moving the speed") {
    speed_tracker t({.window_seconds = 10.0, .tolerance = 0.1, .min_frames = 1});
    CHECK_FALSE(t.add(0.0, 200e-6, 100e-6).has_value());
    CHECK_FALSE(t.add(3.0, 200e-6, 100e-6).has_value());
    CHECK(t.windows().empty());  // no window closed yet
    t.finish();
    REQUIRE(t.windows().size() == 1);
    CHECK(t.windows()[0] == doctest::Approx(2.0));
    CHECK(t.speed() == 1.0);
    CHECK(t.changes() == 0);
    t.finish();  // nothing open: nothing added
    CHECK(t.windows().size() == 1);
}
