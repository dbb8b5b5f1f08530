// Event-level recall, precision and F1 on hand-made decision sequences.
#include <doctest/doctest.h>

#include <vector>

#include <stemshare/experiment/event_eval.hpp>

using namespace stemshare;
using experiment::frame_decision;
using experiment::frame_interval;

namespace {
constexpr auto skip = frame_decision::not_processed;
constexpr auto no = frame_decision::negative;
constexpr auto yes = frame_decision::positive;
}  // namespace

TEST_CASE("event eval: non-event runs are cut into windows of the event length") {
    const std::vector<frame_interval> events{{2, 6}, {12, 16}};
    const auto w = experiment::non_event_windows(events, 25, 4);
    // [0,2) is shorter than a window; [6,12) holds one window plus a remainder that joins it;
    // [16,25) holds two windows, the second taking the remainder.
    const std::vector<frame_interval> expected{{0, 2}, {6, 12}, {16, 20}, {20, 25}};
    CHECK(w == expected);
    const std::vector<frame_interval> overlapping{{2, 6}, {5, 8}};
    CHECK_THROWS_WITH_AS((void)experiment::non_event_windows(overlapping, 20, 4), doctest::Contains("[5, 8)"),
                         stemshare::error);
}

TEST_CASE("event eval: one detected event, one missed, one false-positive window") {
    std::vector<frame_decision> d(20, skip);
    d[3] = yes;  // inside event [2, 6): detected
    d[13] = no;  // inside event [12, 16): processed, not flagged
    d[8] = yes;  // non-event window [6, 12): a false positive
    d[0] = no;
    const std::vector<frame_interval> events{{2, 6}, {12, 16}};
    const auto s = experiment::evaluate_events(d, events, 4);
    CHECK(s.events == 2);
    CHECK(s.detected == 1);
    CHECK(s.windows == 3);
    CHECK(s.false_positive_windows == 1);
    CHECK(s.recall == doctest::Approx(0.5));
    CHECK(s.precision == doctest::Approx(0.5));
    CHECK(s.f1 == doctest::Approx(0.5));
    CHECK(s.event_frequency == doctest::Approx(2.0 / 5.0));
    CHECK(s.processed_frames == 4);
    CHECK(s.true_positive_rate == doctest::Approx(0.5));
    CHECK(s.false_positive_rate == doctest::Approx(0.5));
}

TEST_CASE("event eval: skipped frames never detect, and one flagged frame is enough") {
    const std::vector<frame_interval> events{{0, 5}, {10, 15}};
    std::vector<frame_decision> d(20, skip);
    d[4] = yes;  // the last frame of the first event
    const auto s = experiment::evaluate_events(d, events, 5);
    CHECK(s.detected == 1);
    CHECK(s.false_positive_windows == 0);
    CHECK(s.precision == doctest::Approx(1.0));
    CHECK(s.recall == doctest::Approx(0.5));
    CHECK(s.f1 == doctest::Approx(2.0 / 3.0));
}

TEST_CASE("event eval: a silent app has precision 1 but F1 0, a perfect app F1 1") {
    const std::vector<frame_interval> events{{3, 6}, {9, 12}};
    std::vector<frame_decision> silent(15, no);
    const auto s = experiment::evaluate_events(silent, events, 3);
    CHECK(s.recall == 0.0);
    CHECK(s.precision == 1.0);
    CHECK(s.f1 == 0.0);

    std::vector<frame_decision> perfect(15, no);
    perfect[4] = yes;
    perfect[11] = yes;
    const auto p = experiment::evaluate_events(perfect, events, 3);
    CHECK(p.f1 == doctest::Approx(1.0));

    std::vector<frame_decision> always(15, yes);
    const auto a = experiment::evaluate_events(always, events, 3);
    // Windows: [0,3), [6,9), [12,15): all fire.
    CHECK(a.recall == 1.0);
    CHECK(a.precision == doctest::Approx(2.0 / 5.0));
    CHECK(a.f1 == doctest::Approx(2.0 * 0.4 / 1.4));
}
