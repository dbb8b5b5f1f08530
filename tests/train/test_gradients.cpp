// Every trainable layer's backward pass against central finite differences of its forward pass,
// and every forward pass against the reference kernels.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <stemshare/backend/reference/executor.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/train/loss.hpp>
#include <stemshare/train/network.hpp>

using namespace stemshare;

namespace {

// L = sum_i r_i * y_i for a fixed random r, so dL/dy = r exercises every output element.
double projected_loss(train::network& net, const tensor<float>& x, const tensor<float>& r) {
    const tensor<float>& y = net.forward(x, true);
    double loss = 0.0;
    for (std::int64_t i = 0; i < y.numel(); ++i) loss += static_cast<double>(y[i]) * r[i];
    return loss;
}

struct check_result {
    double worst = 0.0;  // largest |analytic - numeric| / (tolerance scale)
    int checked = 0;
};

void compare(double analytic, double numeric, check_result& result, const std::string& what) {
    const double scale = 2e-3 + 2e-2 * std::max(std::abs(analytic), std::abs(numeric));
    const double ratio = std::abs(analytic - numeric) / scale;
    if (ratio > 1.0) MESSAGE(what << ": analytic " << analytic << " numeric " << numeric);
    result.worst = std::max(result.worst, ratio);
    ++result.checked;
}

// Checks up to `samples` elements of every trainable parameter and of the input gradient, and the
// eval-mode forward pass against reference::run.
check_result check_graph(graph g, train::batch_norm_mode mode, std::int64_t batch, std::uint64_t seed,
                         float input_low = -1.0F, float input_high = 1.0F, int samples = 24,
                         std::initializer_list<float> kinks = {}) {
    const shape in = g.input_shape();
    tensor<float> x(dims{batch, in.c, in.h, in.w});
    fill_uniform(x.values(), seed, input_low, input_high);
    // Finite differences are meaningless within eps of a kink (relu6's 0 and 6, hard-swish's -3
    // and 3): move such inputs away.
    for (auto& v : x.values())
        for (float kink : kinks)
            if (std::abs(v - kink) < 0.05F) v = kink + (v < kink ? -0.05F : 0.05F);

    if (mode == train::batch_norm_mode::frozen) {
        train::network eval(g);
        const tensor<float> ours = eval.forward(x, false);
        const tensor<float> ref = reference::run(g, x.view());
        REQUIRE(ours.extents() == ref.extents());
        for (std::int64_t i = 0; i < ours.numel(); ++i)
            REQUIRE(ours[i] == doctest::Approx(ref[i]).epsilon(1e-4));
    }

    train::network net(std::move(g), {.batch_norm = mode, .input_gradient = true});
    const tensor<float>& y0 = net.forward(x, true);
    tensor<float> r(y0.extents());
    fill_uniform(r.values(), seed + 1, -1.0F, 1.0F);
    net.backward(r);
    const auto grads = net.gradients();
    const tensor<float> dx = net.input_gradient();

    check_result result;
    const float eps = 1e-3F;
    for (std::size_t li = 0; li < net.model().size(); ++li) {
        node& n = net.model().at(li);
        const param_list descs = n.param_descs();
        for (std::size_t pi = 0; pi < n.params.size(); ++pi) {
            if (!train::is_trainable_param(descs[pi].name)) continue;
            tensor<float>& w = n.params[pi];
            const std::int64_t step = std::max<std::int64_t>(1, w.numel() / samples);
            for (std::int64_t e = 0; e < w.numel(); e += step) {
                const float saved = w[e];
                w[e] = saved + eps;
                const double up = projected_loss(net, x, r);
                w[e] = saved - eps;
                const double down = projected_loss(net, x, r);
                w[e] = saved;
                compare(grads[li][pi][e], (up - down) / (2.0 * eps), result,
                        n.name + "." + std::string(descs[pi].name) + "[" + std::to_string(e) + "]");
            }
        }
    }
    const std::int64_t step = std::max<std::int64_t>(1, x.numel() / samples);
    for (std::int64_t e = 0; e < x.numel(); e += step) {
        const float saved = x[e];
        x[e] = saved + eps;
        const double up = projected_loss(net, x, r);
        x[e] = saved - eps;
        const double down = projected_loss(net, x, r);
        x[e] = saved;
        compare(dx[e], (up - down) / (2.0 * eps), result, "input[" + std::to_string(e) + "]");
    }
    return result;
}

graph single(shape in, layer_spec spec, std::uint64_t seed = 3) {
    graph g(in);
    g.add("layer", spec);
    g.bind_random(seed);
    return g;
}

}  // namespace

TEST_CASE("train: conv2d gradient matches finite differences") {
    const auto r = check_graph(
        single({3, 7, 7},
               conv2d_spec{.out_channels = 4, .kernel = 3, .stride = 2, .padding = 1, .bias = true}),
        train::batch_norm_mode::frozen, 2, 11);
    CHECK(r.checked > 40);
    CHECK(r.worst <= 1.0);
}

// The trainer asks oneDNN for convolution_auto on convs of 64 channels or more (the others stay
// direct). oneDNN 2.6 then takes its Winograd kernels (jit_wino_4x3) for wide 3x3 stride-1 convs
// on larger batches: at 256 channels, 8x8 and batch 16 it picks them for the forward, backward-data and
// backward-weights passes at 1 and 2 threads (seen with ONEDNN_VERBOSE=1), so this covers that path.
// Its outputs and gradients differ from direct convolution's by ~2e-6 of their range, but a nudged
// input moves ~16k outputs of the projected loss, and that rounding noise shifts an input gradient's
// finite difference by up to ~5% at inputs in [-1, 1] (direct: < 1%); inputs in [-0.25, 0.25]
// scale the outputs, and so the noise, down 4x.
TEST_CASE("train: a wide 3x3 conv2d (oneDNN's Winograd path) matches finite differences") {
    const auto r = check_graph(
        single({256, 8, 8}, conv2d_spec{.out_channels = 256, .kernel = 3, .padding = 1, .bias = true}),
        train::batch_norm_mode::frozen, 16, 19, -0.25F, 0.25F);
    CHECK(r.checked > 40);
    CHECK(r.worst <= 1.0);
}

TEST_CASE("train: pointwise conv2d gradient matches finite differences") {
    const auto r = check_graph(single({5, 4, 4}, conv2d_spec{.out_channels = 6, .bias = true}),
                               train::batch_norm_mode::frozen, 3, 12);
    CHECK(r.checked > 40);
    CHECK(r.worst <= 1.0);
}

TEST_CASE("train: grouped conv2d with asymmetric padding matches finite differences") {
    const auto r = check_graph(single({4, 6, 5}, conv2d_spec{.out_channels = 6,
                                                             .kernel = {3, 2},
                                                             .stride = {1, 2},
                                                             .padding = {1, 0, 0, 1},
                                                             .groups = 2,
                                                             .bias = true}),
                               train::batch_norm_mode::frozen, 2, 13);
    CHECK(r.checked > 40);
    CHECK(r.worst <= 1.0);
}

TEST_CASE("train: depthwise conv2d gradient matches finite differences (stride 1 and 2)") {
    for (std::int64_t stride : {1, 2}) {
        CAPTURE(stride);
        const auto r =
            check_graph(single({5, 7, 7}, conv2d_spec{.out_channels = 5,
                                                      .kernel = 3,
                                                      .stride = stride,
                                                      .padding = 1,
                                                      .groups = 5,
                                                      .bias = stride == 1}),
                        train::batch_norm_mode::frozen, 2, 14 + static_cast<std::uint64_t>(stride));
        CHECK(r.checked > 40);
        CHECK(r.worst <= 1.0);
    }
}

TEST_CASE("train: dilated conv2d and depthwise conv2d gradients match finite differences") {
    const auto r = check_graph(
        single({3, 9, 9},
               conv2d_spec{
                   .out_channels = 4, .kernel = 3, .stride = 2, .padding = 2, .dilation = 2, .bias = true}),
        train::batch_norm_mode::frozen, 2, 31);
    CHECK(r.checked > 40);
    CHECK(r.worst <= 1.0);
    const auto dw = check_graph(
        single({5, 9, 9},
               conv2d_spec{
                   .out_channels = 5, .kernel = 3, .padding = 3, .dilation = 3, .groups = 5, .bias = false}),
        train::batch_norm_mode::frozen, 2, 32);
    CHECK(dw.checked > 40);
    CHECK(dw.worst <= 1.0);
}

TEST_CASE("train: dense gradient matches finite differences") {
    const auto r =
        check_graph(single({3, 2, 2}, dense_spec{.out_features = 5}), train::batch_norm_mode::frozen, 4, 15);
    CHECK(r.checked > 30);
    CHECK(r.worst <= 1.0);
}

TEST_CASE("train: frozen batch-norm gradient matches finite differences") {
    const auto r = check_graph(single({4, 3, 3}, batch_norm_spec{}), train::batch_norm_mode::frozen, 3, 16);
    CHECK(r.checked > 20);
    CHECK(r.worst <= 1.0);
}

TEST_CASE("train: batch-statistics batch-norm gradient matches finite differences") {
    const auto r =
        check_graph(single({4, 3, 3}, batch_norm_spec{}), train::batch_norm_mode::batch_statistics, 3, 17);
    CHECK(r.checked > 20);
    CHECK(r.worst <= 1.0);
}

// The trainer runs a batch-norm and the relu reading it as one oneDNN primitive (fuse_norm_relu),
// in both modes (finite differences would be off where a nudge moves a batch-norm output across 0,
// the relu's kink; with these seeds none does).
TEST_CASE("train: a batch-norm followed by a relu (run fused) matches finite differences") {
    graph g(shape{4, 3, 3});
    g.add("bn", batch_norm_spec{});
    g.add("relu", activation_spec{activation_kind::relu});
    g.bind_random(5);
    for (auto mode : {train::batch_norm_mode::frozen, train::batch_norm_mode::batch_statistics}) {
        CAPTURE(static_cast<int>(mode));
        const auto r = check_graph(g, mode, 3, 70);
        CHECK(r.checked > 20);
        CHECK(r.worst <= 1.0);
    }
}

TEST_CASE("train: activation gradients match finite differences away from the kinks") {
    for (activation_kind kind : {activation_kind::relu, activation_kind::relu6, activation_kind::sigmoid}) {
        CAPTURE(std::string(to_string(kind)));
        graph g(shape{2, 4, 4});
        g.add("act", activation_spec{kind});
        // Inputs spread over [-2, 8] so relu6 sees both flat parts.
        const auto r =
            check_graph(std::move(g), train::batch_norm_mode::frozen, 2, 18, -2.0F, 8.0F, 64, {0.0F, 6.0F});
        CHECK(r.checked > 30);
        CHECK(r.worst <= 1.0);
    }
}

TEST_CASE("train: max and average pooling gradients match finite differences") {
    const pool2d_spec specs[] = {
        {.kind = pool_kind::max, .kernel = 2, .stride = 2},
        {.kind = pool_kind::max, .kernel = 3, .stride = 2, .padding = 1},
        {.kind = pool_kind::avg, .kernel = 3, .stride = 2, .padding = 1, .count_include_pad = false},
        {.kind = pool_kind::avg, .kernel = 3, .stride = 1, .padding = 1, .count_include_pad = true},
    };
    std::uint64_t seed = 20;
    for (const auto& s : specs) {
        CAPTURE(describe(s));
        const auto r =
            check_graph(single({2, 5, 5}, s), train::batch_norm_mode::frozen, 2, seed++, -1.0F, 1.0F, 64);
        CHECK(r.checked > 30);
        CHECK(r.worst <= 1.0);
    }
}

TEST_CASE("train: global average pooling, flatten and softmax gradients match finite differences") {
    for (layer_spec s :
         {layer_spec{global_avg_pool_spec{}}, layer_spec{flatten_spec{}}, layer_spec{softmax_spec{}}}) {
        CAPTURE(describe(s));
        const auto r =
            check_graph(single({4, 3, 2}, s), train::batch_norm_mode::frozen, 2, 30, -2.0F, 2.0F, 48);
        CHECK(r.checked > 20);
        CHECK(r.worst <= 1.0);
    }
}

TEST_CASE("train: a MobileNet-style suffix back-propagates end to end") {
    graph g(shape{4, 8, 8});
    g.add("dw",
          conv2d_spec{.out_channels = 4, .kernel = 3, .stride = 2, .padding = 1, .groups = 4, .bias = false});
    g.add("dw.bn", batch_norm_spec{});
    g.add("dw.act", activation_spec{activation_kind::relu6});
    g.add("pw", conv2d_spec{.out_channels = 8, .bias = false});
    g.add("pw.bn", batch_norm_spec{});
    g.add("pw.act", activation_spec{activation_kind::relu6});
    g.add("pool", global_avg_pool_spec{});
    g.add("fc", dense_spec{.out_features = 3});
    g.bind_random(5);
    for (auto mode : {train::batch_norm_mode::frozen, train::batch_norm_mode::batch_statistics}) {
        CAPTURE(static_cast<int>(mode));
        const auto r = check_graph(g, mode, 4, 40, -1.0F, 1.0F, 16);
        CHECK(r.checked > 80);
        CHECK(r.worst <= 1.0);
    }
}

TEST_CASE("train: softmax cross-entropy gradient matches finite differences") {
    tensor<float> logits(dims{3, 4, 1, 1});
    fill_uniform(logits.values(), 50, -3.0F, 3.0F);
    const std::vector<std::int32_t> labels{2, 0, 3};
    tensor<float> grad;
    const double loss = train::softmax_cross_entropy(logits, labels, grad);
    CHECK(loss > 0.0);
    tensor<float> scratch;
    for (std::int64_t i = 0; i < logits.numel(); ++i) {
        const float saved = logits[i];
        logits[i] = saved + 1e-3F;
        const double up = train::softmax_cross_entropy(logits, labels, scratch);
        logits[i] = saved - 1e-3F;
        const double down = train::softmax_cross_entropy(logits, labels, scratch);
        logits[i] = saved;
        CHECK(grad[i] == doctest::Approx((up - down) / 2e-3).epsilon(1e-2).scale(1e-3));
    }
    const std::vector<std::int32_t> bad{2, 0, 4};
    CHECK_THROWS_WITH_AS(train::softmax_cross_entropy(logits, bad, grad),
                         doctest::Contains("label 4 of item 2"), stemshare::error);
}

TEST_CASE("train: a residual add sends the gradient to both branches (finite differences)") {
    // x -> conv -> bn -> act -> conv -> bn --(+ x)--> act -> pool -> fc, with x read twice. Smooth
    // activations: with batch statistics a weight moves every output, and relu kinks would be crossed.
    graph g(shape{4, 6, 6});
    const auto c1 = g.add("c1", conv2d_spec{.out_channels = 4, .kernel = 3, .padding = 1, .bias = false});
    g.add("c1.bn", batch_norm_spec{});
    g.add("c1.act", activation_spec{activation_kind::sigmoid});
    g.add("c2", conv2d_spec{.out_channels = 4, .kernel = 3, .padding = 1, .bias = false});
    const auto bn2 = g.add("c2.bn", batch_norm_spec{});
    const auto sum = g.add("sum", add_spec{}, {bn2, graph_input});
    g.add("out.act", activation_spec{activation_kind::sigmoid}, {sum});
    g.add("pool", global_avg_pool_spec{});
    g.add("fc", dense_spec{.out_features = 3});
    g.bind_random(6);
    CHECK(c1 == 0);
    for (auto mode : {train::batch_norm_mode::frozen, train::batch_norm_mode::batch_statistics}) {
        CAPTURE(static_cast<int>(mode));
        const auto r = check_graph(g, mode, 3, 41, -1.0F, 1.0F, 16);
        CHECK(r.checked > 70);
        CHECK(r.worst <= 1.0);
    }
}

TEST_CASE("train: a concat splits the gradient per input (finite differences)") {
    // Two branches of different widths from one value (read three times), concatenated, then a
    // second concat that takes the graph input directly.
    graph g(shape{3, 5, 5});
    const auto a = g.add("a", conv2d_spec{.out_channels = 5, .kernel = 1}, {graph_input});
    const auto b = g.add("b", conv2d_spec{.out_channels = 3, .kernel = 3, .padding = 1}, {graph_input});
    const auto p =
        g.add("p",
              pool2d_spec{
                  .kind = pool_kind::avg, .kernel = 3, .stride = 1, .padding = 1, .count_include_pad = false},
              {graph_input});
    const auto cat = g.add("cat", concat_spec{}, {a, b, p});
    const auto act = g.add("act", activation_spec{activation_kind::sigmoid}, {cat});
    const auto cat2 = g.add("cat2", concat_spec{}, {act, graph_input});
    g.add("fc", dense_spec{.out_features = 4}, {cat2});
    g.bind_random(7);
    const auto r = check_graph(g, train::batch_norm_mode::frozen, 2, 42, -1.0F, 1.0F, 24);
    CHECK(r.checked > 100);
    CHECK(r.worst <= 1.0);
}

TEST_CASE("train: the trainer refuses unbound weights, naming the layer") {
    graph g(shape{2, 4, 4});
    g.add("fc", dense_spec{.out_features = 2});
    CHECK_THROWS_WITH_AS(train::network{g}, doctest::Contains("layer 'fc' dense"), stemshare::error);
}

TEST_CASE(
    "train: a dilated max pool (inference only) is refused when the network is planned, naming the layer") {
    graph g(shape{2, 8, 8});
    g.add("pool", pool2d_spec{.kind = pool_kind::max, .kernel = 2, .stride = 1, .dilation = 2});
    g.add("fc", dense_spec{.out_features = 2});
    g.bind_random(3);
    train::network net(g);
    const tensor<float> x(dims{1, 2, 8, 8});
    CHECK_THROWS_WITH_AS(net.forward(x),
                         doctest::Contains("layer 'pool' max_pool2d(k=2x2,s=1x1,p=(0,0,0,0),d=2x2): dilated "
                                           "pooling is not supported in training"),
                         stemshare::error);
}

TEST_CASE("training: hard-swish backward matches finite differences") {
    graph g(shape{3, 4, 4});
    g.add("hswish", gate_activation_spec{.kind = gate_kind::hard_swish});
    // Inputs over [-5, 5]: both flat parts and the quadratic one between -3 and 3.
    const auto r =
        check_graph(std::move(g), train::batch_norm_mode::frozen, 2, 60, -5.0F, 5.0F, 96, {-3.0F, 3.0F});
    CHECK(r.checked > 80);
    CHECK(r.worst <= 1.0);
}

TEST_CASE("training: hard-sigmoid backward matches finite differences (PyTorch's and ONNX's slopes)") {
    struct slope {
        float alpha, beta;
    };
    for (const slope p : {slope{1.0F / 6.0F, 0.5F}, slope{0.2F, 0.5F}}) {
        CAPTURE(p.alpha);
        graph g(shape{3, 4, 4});
        g.add("hsigmoid",
              gate_activation_spec{.kind = gate_kind::hard_sigmoid, .alpha = p.alpha, .beta = p.beta});
        const auto r = check_graph(std::move(g), train::batch_norm_mode::frozen, 2, 61, -5.0F, 5.0F, 96,
                                   {-p.beta / p.alpha, (1.0F - p.beta) / p.alpha});
        CHECK(r.checked > 80);
        CHECK(r.worst <= 1.0);
    }
}

TEST_CASE("training: SiLU backward matches finite differences") {
    graph g(shape{3, 4, 4});
    g.add("silu", gate_activation_spec{.kind = gate_kind::silu});
    const auto r = check_graph(std::move(g), train::batch_norm_mode::frozen, 2, 62, -5.0F, 5.0F, 96);
    CHECK(r.checked > 80);
    CHECK(r.worst <= 1.0);
}

TEST_CASE("training: a same-shape multiply sends dy * other to each input (finite differences)") {
    // a * sigmoid(b) of two convs of x, then that product times itself (one value read twice).
    graph g(shape{4, 5, 5});
    const auto a = g.add("a", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1}, {graph_input});
    const auto b = g.add("b", conv2d_spec{.out_channels = 8, .kernel = 1}, {graph_input});
    const auto gate = g.add("gate", activation_spec{activation_kind::sigmoid}, {b});
    const auto m = g.add("m", multiply_spec{}, {a, gate});
    const auto sq = g.add("sq", multiply_spec{}, {m, m});
    g.add("x_times", multiply_spec{}, {graph_input, graph_input});
    g.add("fc", dense_spec{.out_features = 3}, {sq});
    g.bind_random(8);
    const auto r = check_graph(g, train::batch_norm_mode::frozen, 2, 63, -1.0F, 1.0F, 24);
    CHECK(r.checked > 100);
    CHECK(r.worst <= 1.0);
}

namespace {

// x -> conv -> bn -> act, then squeeze-and-excitation on that: global pool -> 1x1 conv -> relu ->
// 1x1 conv -> gate -> multiply of the block input by the per-channel gate, then a 1x1 conv.
graph squeeze_excitation_net(layer_spec act, layer_spec gate) {
    graph g(shape{4, 6, 6});
    g.add("c", conv2d_spec{.out_channels = 20, .kernel = 3, .padding = 1, .bias = false});
    g.add("c.bn", batch_norm_spec{});
    const auto in = g.add("c.act", act);
    g.add("se.pool", global_avg_pool_spec{});
    g.add("se.fc1", conv2d_spec{.out_channels = 8, .bias = true});
    g.add("se.relu", activation_spec{activation_kind::relu});
    g.add("se.fc2", conv2d_spec{.out_channels = 20, .bias = true});
    const auto gated = g.add("se.gate", gate);
    g.add("se.scale", multiply_spec{}, {in, gated});
    g.add("project", conv2d_spec{.out_channels = 4, .bias = false});
    g.bind_random(9);
    return g;
}

}  // namespace

TEST_CASE("training: a squeeze-and-excitation block (per-channel multiply) matches finite differences") {
    struct variant {
        const char* name;
        layer_spec act, gate;
    };
    // MobileNetV3's (hard-swish, hard-sigmoid gate) and EfficientNet's (SiLU, sigmoid gate).
    for (const variant& v : {variant{"mobilenet_v3", gate_activation_spec{.kind = gate_kind::hard_swish},
                                     gate_activation_spec{.kind = gate_kind::hard_sigmoid}},
                             variant{"efficientnet", gate_activation_spec{.kind = gate_kind::silu},
                                     activation_spec{activation_kind::sigmoid}}}) {
        CAPTURE(std::string(v.name));
        for (auto mode : {train::batch_norm_mode::frozen, train::batch_norm_mode::batch_statistics}) {
            CAPTURE(static_cast<int>(mode));
            const auto r = check_graph(squeeze_excitation_net(v.act, v.gate), mode, 3, 64, -1.0F, 1.0F, 16);
            CHECK(r.checked > 100);
            CHECK(r.worst <= 1.0);
        }
    }
}

TEST_CASE("training: channel shuffles and slices route the gradient back (finite differences)") {
    // A ShuffleNetV2 unit (split in two whole channel blocks of the conv's layout, one half through
    // a conv, concat, shuffle), then a slice of plain channels, a shuffle that moves nothing, a
    // slice of the conv that cuts its channel blocks, a shuffle of the conv's own (blocked)
    // layout, and overlapping slices and a shuffle of the graph input (plain).
    graph g(shape{6, 5, 5});
    const auto c = g.add("c", conv2d_spec{.out_channels = 32, .kernel = 1}, {graph_input});
    const auto left = g.add("left", channel_slice_spec{0, 16}, {c});
    const auto right = g.add("right", channel_slice_spec{16, 16}, {c});
    const auto branch = g.add("branch", conv2d_spec{.out_channels = 16, .kernel = 3, .padding = 1}, {right});
    const auto cat = g.add("cat", concat_spec{}, {left, branch});
    const auto shuffled = g.add("shuffle", channel_shuffle_spec{2}, {cat});
    const auto cut = g.add("cut", channel_slice_spec{3, 10}, {shuffled});
    const auto act = g.add("act", activation_spec{activation_kind::sigmoid}, {cut});
    const auto same = g.add("same", channel_shuffle_spec{10}, {act});
    const auto odd = g.add("odd", channel_slice_spec{5, 6}, {c});
    const auto blocked = g.add("blocked", channel_shuffle_spec{4}, {c});
    const auto x0 = g.add("x0", channel_slice_spec{0, 3}, {graph_input});
    const auto x1 = g.add("x1", channel_slice_spec{1, 4}, {graph_input});
    const auto xs = g.add("xs", channel_shuffle_spec{3}, {graph_input});
    const auto cat2 = g.add("cat2", concat_spec{}, {same, odd, blocked, x0, x1, xs});
    g.add("fc", dense_spec{.out_features = 4}, {cat2});
    g.bind_random(10);
    const auto r = check_graph(g, train::batch_norm_mode::frozen, 2, 65, -1.0F, 1.0F, 24);
    CHECK(r.checked > 100);
    CHECK(r.worst <= 1.0);
}

TEST_CASE("training: the gate activations' gradients at their kinks are PyTorch's") {
    // Finite differences cannot see what a kink's own point gets, but PyTorch defines it and
    // inputs exactly there occur (integer-valued data, clipped values): torch 1.13's hardswish
    // backward is 0 below -3, dy * (x / 3 + 1/2) on [-3, 3] and dy above, so -1/2 at -3 and 3/2 at
    // 3; its hardsigmoid backward is dy / 6 on the open interval (-3, 3) only.
    const std::vector<float> at = {-4.0F, -3.0F, -2.5F, 0.0F, 2.5F, 3.0F, 4.0F};
    struct expectation {
        gate_kind kind;
        std::vector<float> dx;
    };
    for (const expectation& e :
         {expectation{gate_kind::hard_swish, {0.0F, -0.5F, -1.0F / 3.0F, 0.5F, 4.0F / 3.0F, 1.5F, 1.0F}},
          expectation{gate_kind::hard_sigmoid,
                      {0.0F, 0.0F, 1.0F / 6.0F, 1.0F / 6.0F, 1.0F / 6.0F, 0.0F, 0.0F}}}) {
        CAPTURE(static_cast<int>(e.kind));
        graph g(shape{1, 1, static_cast<std::int64_t>(at.size())});
        g.add("gate", gate_activation_spec{.kind = e.kind});
        train::network net(std::move(g), {.input_gradient = true});
        tensor<float> x(dims{1, 1, 1, static_cast<std::int64_t>(at.size())});
        std::copy(at.begin(), at.end(), x.values().begin());
        tensor<float> dy(x.extents());
        std::fill(dy.values().begin(), dy.values().end(), 1.0F);
        net.forward(x, true);
        net.backward(dy);
        const tensor<float> dx = net.input_gradient();
        for (std::size_t i = 0; i < at.size(); ++i) {
            CAPTURE(at[i]);
            CHECK(dx[static_cast<std::int64_t>(i)] == doctest::Approx(e.dx[i]).epsilon(1e-6));
        }
    }
}
