// The frame-stream generator: coverage, event ground truth, correlation and determinism.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include <stemshare/experiment/stream.hpp>
#include <stemshare/tensor/fill.hpp>

using namespace stemshare;
using experiment::frame_stream;
using experiment::stream_options;

namespace {

// 40 smooth 8x8 images (random low-frequency waves, like natural images a shift barely changes),
// labels 0..4 in turn.
struct image_set {
    tensor<float> images{dims{40, 1, 8, 8}};
    std::vector<std::uint8_t> labels;
    image_set() {
        tensor<float> waves(dims{40, 3});
        fill_uniform(waves.values(), 3, 0.0F, 1.0F);
        for (std::int64_t i = 0; i < 40; ++i) {
            labels.push_back(static_cast<std::uint8_t>(i % 5));
            const double fy = 0.2 + 0.4 * waves[i * 3];
            const double fx = 0.2 + 0.4 * waves[i * 3 + 1];
            const double phase = 6.28 * waves[i * 3 + 2];
            for (std::int64_t y = 0; y < 8; ++y)
                for (std::int64_t x = 0; x < 8; ++x)
                    images[i * 64 + y * 8 + x] =
                        static_cast<float>(0.5 + 0.5 * std::sin(fy * static_cast<double>(y) +
                                                                fx * static_cast<double>(x) + phase));
        }
    }
};

const std::vector<std::int32_t> background{0, 1};
const std::vector<std::int32_t> targets{2, 3, 4};

double mean_abs_diff(const tensor<float>& frames, std::int64_t a, std::int64_t b) {
    double s = 0.0;
    for (std::int64_t i = 0; i < 64; ++i) s += std::abs(frames[a * 64 + i] - frames[b * 64 + i]);
    return s / 64.0;
}

}  // namespace

TEST_CASE("stream: segments cover the stream, events have the event length and never touch") {
    const image_set set;
    const stream_options o{.fps = 10.0, .duration_s = 60.0, .event_ms = 500.0, .event_share = 0.5, .seed = 4};
    const frame_stream s(set.images, set.labels, background, targets, o);
    CHECK(s.frame_count() == 600);
    CHECK(s.event_frames() == 5);
    CHECK(s.frames().extents() == dims{600, 1, 8, 8});
    std::int64_t at = 0;
    std::int64_t event_frames = 0;
    const auto& segs = s.segments();
    for (std::size_t i = 0; i < segs.size(); ++i) {
        const auto& g = segs[i];
        REQUIRE(g.frames.begin == at);
        REQUIRE(g.frames.length() > 0);
        at = g.frames.end;
        CHECK(set.labels[static_cast<std::size_t>(g.source)] == g.label);
        if (g.is_event) {
            CHECK(g.frames.length() == 5);
            CHECK((g.label >= 2 && g.label <= 4));
            event_frames += 5;
            if (i + 1 < segs.size()) CHECK_FALSE(segs[i + 1].is_event);
        } else {
            CHECK(g.label <= 1);
        }
    }
    CHECK(at == 600);
    // The share of event frames is near the requested one (seeded, so this is one fixed stream).
    CHECK(static_cast<double>(event_frames) / 600.0 == doctest::Approx(0.5).epsilon(0.25));
}

TEST_CASE("stream: per-app events and per-frame presence agree with the segments") {
    const image_set set;
    const frame_stream s(set.images, set.labels, background, targets,
                         {.fps = 15.0, .duration_s = 40.0, .event_ms = 400.0, .seed = 8});
    const std::vector<std::int32_t> app{3};
    const std::vector<std::int32_t> group{2, 4};
    const auto single = s.events_for(app);
    const auto grouped = s.events_for(group);
    const auto all = s.events_for(targets);
    CHECK(single.size() + grouped.size() == all.size());
    CHECK(!single.empty());
    CHECK(!grouped.empty());
    const auto labels = s.frame_labels();
    const auto present = s.present(app);
    std::int64_t present_count = 0;
    for (std::int64_t f = 0; f < s.frame_count(); ++f) {
        const bool inside = std::any_of(single.begin(), single.end(),
                                        [&](const auto& e) { return f >= e.begin && f < e.end; });
        CHECK(present[static_cast<std::size_t>(f)] == inside);
        if (inside) CHECK(labels[static_cast<std::size_t>(f)] == 3);
        present_count += inside ? 1 : 0;
    }
    CHECK(present_count == static_cast<std::int64_t>(single.size()) * s.event_frames());
}

TEST_CASE("stream: without shift and noise every frame is its source image") {
    const image_set set;
    const frame_stream s(set.images, set.labels, background, targets,
                         {.fps = 5.0, .duration_s = 20.0, .max_shift = 0, .noise = 0.0F, .seed = 2});
    for (const auto& g : s.segments())
        for (std::int64_t f = g.frames.begin; f < g.frames.end; ++f)
            for (std::int64_t i = 0; i < 64; ++i)
                REQUIRE(s.frames()[f * 64 + i] == set.images[g.source * 64 + i]);
}

TEST_CASE("stream: frames of one event are correlated, frames of different runs are not") {
    const image_set set;
    const frame_stream s(set.images, set.labels, background, targets,
                         {.fps = 10.0, .duration_s = 60.0, .seed = 5});
    double within = 0.0;
    double across = 0.0;
    int n_within = 0;
    int n_across = 0;
    for (const auto& g : s.segments()) {
        if (g.frames.length() < 2 || g.frames.end >= s.frame_count()) continue;
        within += mean_abs_diff(s.frames(), g.frames.begin, g.frames.begin + 1);
        across += mean_abs_diff(s.frames(), g.frames.end - 1, g.frames.end);
        ++n_within;
        ++n_across;
    }
    REQUIRE(n_within > 10);
    CHECK(within / n_within < 0.6 * (across / n_across));
}

TEST_CASE("stream: the same seed gives the same stream, another seed another") {
    const image_set set;
    const stream_options o{.fps = 10.0, .duration_s = 10.0, .seed = 6};
    const frame_stream a(set.images, set.labels, background, targets, o);
    const frame_stream b(set.images, set.labels, background, targets, o);
    stream_options other = o;
    other.seed = 7;
    const frame_stream c(set.images, set.labels, background, targets, other);
    CHECK(std::equal(a.frames().values().begin(), a.frames().values().end(), b.frames().values().begin()));
    CHECK_FALSE(
        std::equal(a.frames().values().begin(), a.frames().values().end(), c.frames().values().begin()));
}

TEST_CASE("stream: bad options are refused") {
    const image_set set;
    CHECK_THROWS_AS(frame_stream(set.images, set.labels, background, targets, {.fps = 0.0}),
                    stemshare::error);
    CHECK_THROWS_AS(frame_stream(set.images, set.labels, background, targets, {.event_share = 1.0}),
                    stemshare::error);
    const std::vector<std::int32_t> missing{9};
    CHECK_THROWS_WITH_AS(frame_stream(set.images, set.labels, background, missing, {}),
                         doctest::Contains("no image of the requested classes"), stemshare::error);
}

TEST_CASE("stream: an empty list of event classes is refused, not divided by") {
    const image_set set;
    const std::vector<std::int32_t> none;
    CHECK_THROWS_WITH_AS(frame_stream(set.images, set.labels, background, none, {}),
                         doctest::Contains("event_classes is empty"), stemshare::error);
    CHECK_THROWS_WITH_AS(frame_stream(set.images, set.labels, none, targets, {}),
                         doctest::Contains("background_classes is empty"), stemshare::error);
}
