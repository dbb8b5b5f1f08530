#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <stemshare/backend/reference/executor.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
#include <stemshare/graph/fold_batch_norms.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/graph/redrawn_suffix.hpp>

using namespace stemshare;

namespace {
graph residual_graph() {
    graph g(shape{4, 6, 6});
    const auto c1 = g.add("c1", conv2d_spec{.out_channels = 4, .kernel = 3, .padding = 1, .bias = false});
    g.add("bn1", batch_norm_spec{});
    const auto r1 = g.add("r1", activation_spec{activation_kind::relu});
    const auto c2 = g.add("c2", conv2d_spec{.out_channels = 4, .kernel = 3, .padding = 1});
    g.add("sum", add_spec{}, {c2, r1});
    g.add("pool", global_avg_pool_spec{});
    (void)c1;
    return g;
}
}  // namespace

TEST_CASE("graph: a layer that does not fit its input names the layer, the rule and the shapes") {
    graph g(shape{3, 8, 8});
    CHECK_THROWS_WITH_AS(
        g.add("conv_a", conv2d_spec{.out_channels = 4, .kernel = 3, .groups = 2}),
        doctest::Contains("layer 'conv_a' conv2d(out=4,k=3x3,s=1x1,p=(0,0,0,0),g=2,bias=1): "
                          "conv2d: input channels are not divisible by groups (input [3x8x8])"),
        error);
    CHECK(g.size() == 0);  // nothing was added
    const auto a = g.add("a", conv2d_spec{.out_channels = 4, .kernel = 1});
    const auto b = g.add("b", conv2d_spec{.out_channels = 5, .kernel = 1}, {graph_input});
    CHECK_THROWS_WITH_AS(g.add("sum", add_spec{}, {a, b}), doctest::Contains("inputs have different shapes"),
                         error);
    CHECK_THROWS_WITH_AS(g.add("c", activation_spec{}, {7}),
                         doctest::Contains("reads value 7 which does not exist"), error);
    CHECK_THROWS_WITH_AS(graph(shape{0, 8, 8}), doctest::Contains("zero extent"), error);
}

TEST_CASE(
    "graph: binding weights of the wrong count, shape or value is refused and leaves the layer unbound") {
    graph g(shape{3, 8, 8});
    g.add("conv", conv2d_spec{.out_channels = 4, .kernel = 3});
    std::vector<tensor<float>> wrong_shape;
    wrong_shape.emplace_back(dims{4, 3, 5, 5});
    wrong_shape.emplace_back(dims{4});
    CHECK_THROWS_WITH_AS(
        g.bind(0, std::move(wrong_shape)),
        doctest::Contains("parameter 'weight' must have dims {4, 3, 3, 3}, got {4, 3, 5, 5}"), error);
    std::vector<tensor<float>> too_few;
    too_few.emplace_back(dims{4, 3, 3, 3});
    CHECK_THROWS_WITH_AS(g.bind(0, std::move(too_few)),
                         doctest::Contains("expects 2 parameter tensors, got 1"), error);
    std::vector<tensor<float>> with_nan;
    with_nan.emplace_back(dims{4, 3, 3, 3});
    with_nan.emplace_back(dims{4});
    with_nan[1][2] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH_AS(g.bind(0, std::move(with_nan)),
                         doctest::Contains("'bias' has a non-finite value at index 2"), error);
    CHECK_FALSE(g.is_bound());
    CHECK_THROWS_WITH_AS(g.bind(3, {}), doctest::Contains("no layer 3"), error);
}

TEST_CASE("graph: cut points exclude the inside of a residual block, slices run like the whole") {
    graph g = residual_graph();
    // Layers 3 (c2) and 4 (sum) read r1 (value 2) and c2: cutting after c1 or bn1 is fine, but not
    // after c2, where both c2's output and r1's are still needed.
    CHECK(g.branch_points() == std::vector<std::size_t>{0, 1, 2, 3, 5, 6});
    CHECK_FALSE(g.is_cut_point(4));
    CHECK_THROWS_WITH_AS((void)g.slice(0, 4), doctest::Contains("cut points"), error);
    g.bind_random(5);
    tensor<float> x(dims{2, 4, 6, 6});
    fill_uniform(x.values(), 9);
    const auto whole = reference::run(g, x.view());
    const auto stem_out = reference::run(g.slice(0, 3), x.view());
    const auto suffix = g.slice(3, 6);
    CHECK(suffix.input_shape() == shape{4, 6, 6});
    const auto parts = reference::run(suffix, stem_out.view());
    REQUIRE(parts.extents() == whole.extents());
    for (std::int64_t i = 0; i < whole.numel(); ++i) CHECK(parts[i] == whole[i]);
}

TEST_CASE("fold_batch_norms: folded graph computes the same function with fewer layers") {
    graph g = residual_graph();
    g.bind_random(13);
    const graph folded = fold_batch_norms(g);
    CHECK(folded.size() == g.size() - 1);
    CHECK(std::get<conv2d_spec>(folded.nodes()[0].spec).bias);
    tensor<float> x(dims{1, 4, 6, 6});
    fill_uniform(x.values(), 21);
    const auto a = reference::run(g, x.view());
    const auto b = reference::run(folded, x.view());
    for (std::int64_t i = 0; i < a.numel(); ++i) CHECK(b[i] == doctest::Approx(a[i]).epsilon(1e-5));
}

TEST_CASE("chain: lowering gives named layers, declared branch points and matching counts") {
    using namespace stemshare::layers;
    constexpr auto net = input<3, 8, 8> |
                         block(conv2d<{.out_channels = 4, .kernel = 3, .padding = 1}> | relu) |
                         residual(conv2d<{.out_channels = 4, .kernel = 3, .padding = 1}>) | global_avg_pool |
                         dense<{.out_features = 2}>;
    const graph g = net.to_graph();
    CHECK(g.size() == net.layer_count());
    CHECK(g.flops() == net.flops());
    CHECK(g.param_count() == net.param_count());
    CHECK(g.output_shape() == net.output_shape());
    const auto points = net.branch_points();
    CHECK(g.branch_points() == std::vector<std::size_t>(points.begin(), points.end()));
    CHECK(g.nodes()[0].name == "0.0.conv2d");
    CHECK(g.nodes()[2].name == "1.body.0.conv2d");
    CHECK(g.nodes()[3].name == "1.add");
    CHECK(g.nodes()[3].inputs == std::vector<value_id>{2, 1});
}

TEST_CASE("reference backend: wrong input shape and unbound layers are clear errors") {
    graph g(shape{3, 8, 8});
    g.add("conv", conv2d_spec{.out_channels = 4, .kernel = 3});
    tensor<float> x(dims{1, 3, 8, 8});
    CHECK_THROWS_WITH_AS((void)reference::run(g, x.view()), doctest::Contains("layer 'conv'"), error);
    g.bind_random(1);
    tensor<float> wrong(dims{1, 3, 8, 9});
    CHECK_THROWS_WITH_AS((void)reference::run(g, wrong.view()),
                         doctest::Contains("input must have dims {N, 3, 8, 8}, got {1, 3, 8, 9}"), error);
}

TEST_CASE(
    "graph: a batch-norm variance that would divide by zero, and weights of the wrong dims, are refused") {
    graph g({2, 3, 3});
    g.add("bn", batch_norm_spec{.epsilon = 1e-5F});
    std::vector<tensor<float>> params;
    for (int k = 0; k < 4; ++k) params.emplace_back(dims{2});  // zeros
    params[3][1] = -1e-5F;                                     // variance + epsilon = 0 at channel 1
    CHECK_THROWS_WITH_AS(
        g.bind(0, params),
        doctest::Contains("layer 'bn' batch_norm(eps=1e-05): running variance + epsilon must be "
                          "positive, got -0.000010 at channel 1"),
        stemshare::error);
    CHECK_FALSE(g.nodes()[0].is_bound());
    params[3][1] = 1.0F;
    g.bind(0, params);
    CHECK(g.nodes()[0].is_bound());
    // `params` is public: one filled by hand with the wrong dims is not bound (the backends would
    // read past its end).
    g.at(0).params[2] = tensor<float>(dims{3});
    CHECK_FALSE(g.nodes()[0].is_bound());
}

TEST_CASE("redrawn_suffix: layers from k on are re-drawn, the ones before kept, bad k refused") {
    graph base = residual_graph();
    base.bind_random(1);
    // k = 2 cuts before the relu that the residual block's sum also reads: c1 and bn1 stay.
    const graph app = redrawn_suffix(base, 2, 7);
    const auto same = [](const graph& a, const graph& b, std::size_t i) {
        const auto& pa = a.nodes()[i].params;
        const auto& pb = b.nodes()[i].params;
        if (pa.size() != pb.size()) return false;
        for (std::size_t t = 0; t < pa.size(); ++t)
            for (std::int64_t e = 0; e < pa[t].numel(); ++e)
                if (pa[t][e] != pb[t][e]) return false;
        return true;
    };
    CHECK(same(app, base, 0));
    CHECK(same(app, base, 1));
    CHECK_FALSE(same(app, base, 3));  // c2 re-drawn
    for (std::size_t i = 0; i < app.size(); ++i) CHECK(app.nodes()[i].is_bound());
    // Another seed draws another suffix over the same stem; k = size keeps everything.
    const graph other = redrawn_suffix(base, 2, 8);
    CHECK(same(other, app, 0));
    CHECK_FALSE(same(other, app, 3));
    const graph whole = redrawn_suffix(base, base.size(), 7);
    for (std::size_t i = 0; i < base.size(); ++i) CHECK(same(whole, base, i));
    CHECK_THROWS_WITH_AS((void)redrawn_suffix(base, base.size() + 1, 7), doctest::Contains("redrawn_suffix"),
                         stemshare::error);
    // Inside the residual block two values cross the cut: no app can branch there.
    CHECK_THROWS_WITH_AS((void)redrawn_suffix(base, 4, 7), doctest::Contains("cut points"), stemshare::error);
}
