// The frame-correlation estimate, the sampled reading of the quality model, candidate choice and
// storage rounding of the demo's training recipe (tools/fashion).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <stemshare/experiment/quality_estimate.hpp>
#include <stemshare/io/half.hpp>

#include <fashion/training.hpp>

using namespace stemshare;
using experiment::frame_interval;

namespace {
experiment::app_predictions one_candidate(const std::vector<int>& flags) {
    experiment::candidate_decisions c;
    for (int f : flags) c.positive.push_back(f == 1);
    return {"app", {c}};
}
}  // namespace

TEST_CASE("estimate_correlation: misses that follow misses raise c") {
    // Event 1: hit miss miss hit; event 2: hit hit miss miss. a = 4/8; misses with a next in-event
    // frame: 3 (frames 1, 2, 12), followed by a miss twice: q = 2/3, c = (2/3 - 1/2) / (1/2) = 1/3.
    const auto app = one_candidate({1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1});
    const std::vector<frame_interval> events{{0, 4}, {10, 14}};
    const auto e = experiment::estimate_correlation(app, events);
    CHECK(e.hit_rate == doctest::Approx(0.5));
    CHECK(e.miss_after_miss == doctest::Approx(2.0 / 3.0));
    CHECK(e.correlation == doctest::Approx(1.0 / 3.0));
    CHECK(e.miss_pairs == 3);
}

TEST_CASE(
    "estimate_correlation: alternating misses clamp to 0, no miss gives 0, frames outside events are "
    "ignored") {
    const std::vector<frame_interval> events{{2, 6}};
    // Inside the event: hit miss hit miss. q = 0 < 1 - a, so c clamps to 0. The flags outside the
    // event (frames 0, 1, 6, 7) would change both rates if they were counted.
    auto e = experiment::estimate_correlation(one_candidate({0, 0, 1, 0, 1, 0, 0, 0}), events);
    CHECK(e.hit_rate == doctest::Approx(0.5));
    CHECK(e.correlation == 0.0);
    e = experiment::estimate_correlation(one_candidate({0, 0, 1, 1, 1, 1, 0, 0}), events);
    CHECK(e.miss_pairs == 0);
    CHECK(e.correlation == 0.0);
    // Two candidates pool their counts: each alone would give 0 and 1.
    experiment::app_predictions two{"app", {}};
    two.candidates.push_back(one_candidate({0, 0, 1, 0, 1, 0, 0, 0}).candidates[0]);
    two.candidates.push_back(one_candidate({0, 0, 0, 0, 0, 0, 0, 0}).candidates[0]);
    e = experiment::estimate_correlation(two, events);
    CHECK(e.hit_rate == doctest::Approx(2.0 / 8.0));
    CHECK(e.miss_after_miss ==
          doctest::Approx(3.0 / 4.0));             // 1 + 3 misses with a next frame, 0 + 3 followed by a miss
    CHECK(e.correlation == doctest::Approx(0.0));  // q = 3/4 = 1 - a exactly: independent
}

TEST_CASE("sampled_event_quality: L f / 1000 samples per event") {
    const sched::event_params ev{1000.0, 0.2, 0.5, 15.0};
    // At the stream rate both readings agree.
    CHECK(experiment::sampled_event_quality(0.9, 0.1, ev, 15.0) == sched::event_quality(0.9, 0.1, ev, 15.0));
    // At 5 fps an app samples 5 frames of a 1 s event; by hand: q = (1 - p) + p c, miss = q^4 (1 - p).
    const auto miss = [](double p) { return std::pow((1.0 - p) + p * 0.5, 4) * (1.0 - p); };
    const double recall = 1.0 - miss(0.9);
    const double fires = 1.0 - miss(0.1);
    const double precision = 0.2 * recall / (0.2 * recall + 0.8 * fires);
    const auto q = experiment::sampled_event_quality(0.9, 0.1, ev, 5.0);
    CHECK(q.recall == doctest::Approx(recall));
    CHECK(q.precision == doctest::Approx(precision));
    CHECK(q.f1 == doctest::Approx(2.0 * precision * recall / (precision + recall)));
    // The original's reading sees 5 * 5 / 15 < 2 samples: a lower recall.
    CHECK(sched::event_quality(0.9, 0.1, ev, 5.0).recall < q.recall);
}

TEST_CASE("candidate_points: a branch point that trains the same layers as the next one is left out") {
    const graph g = fashion::app_start_model([] {
        graph base = zoo::fashion_mobilenet.to_graph();
        base.bind_random(3);
        return base;
    }());
    const std::vector<std::size_t> points = fashion::candidate_points(g);
    CHECK(points == std::vector<std::size_t>{0, 3, 9, 15, 21, 27, 33, 40});  // 39 is the pooling before 40
}

TEST_CASE("round_weights: f16 rounds the suffix only, and rounding twice changes nothing") {
    graph g = zoo::fashion_mobilenet.to_graph();
    g.bind_random(5);
    const graph before = g;
    fashion::round_weights(g, 33, io::storage_dtype::f16);
    bool changed = false;
    for (std::size_t l = 0; l < g.size(); ++l)
        for (std::size_t p = 0; p < g.at(l).params.size(); ++p) {
            const auto now = g.at(l).params[p].values();
            const auto old = before.at(l).params[p].values();
            for (std::size_t i = 0; i < now.size(); ++i) {
                if (l < 33)
                    REQUIRE(now[i] == old[i]);
                else {
                    REQUIRE(now[i] == io::f16_to_f32(io::f32_to_f16(old[i])));
                    changed = changed || now[i] != old[i];
                }
            }
        }
    CHECK(changed);
    const graph once = g;
    fashion::round_weights(g, 33, io::storage_dtype::f16);
    for (std::size_t l = 33; l < g.size(); ++l)
        for (std::size_t p = 0; p < g.at(l).params.size(); ++p)
            CHECK(std::equal(g.at(l).params[p].values().begin(), g.at(l).params[p].values().end(),
                             once.at(l).params[p].values().begin()));
}
