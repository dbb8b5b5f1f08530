// Parity tier: every layer kind on oneDNN against the naive reference backend, over a table of
// shapes (odd sizes, stride 2, groups, depthwise, asymmetric padding, batch > 1), plus fused
// patterns and a whole small chain. f32 tolerance: |onednn - ref| <= 1e-5 + 1e-4 * |ref|
// (oneDNN reorders the accumulation and uses FMA; the reference accumulates in double).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <stemshare/stemshare.hpp>

#include "support/skip.hpp"

using namespace stemshare;

namespace {

constexpr double abs_tolerance = 1e-5;
constexpr double rel_tolerance = 1e-4;

/// Runs g on both backends with seeded random weights and inputs; checks every output element.
/// Inputs are uniform in [-range, range].
void check_parity(graph g, std::int64_t batch, int threads = 1, std::uint64_t seed = 1, float range = 2.0F) {
    g.bind_random(seed);
    const shape in = g.input_shape();
    tensor<float> x(dims{batch, in.c, in.h, in.w});
    fill_uniform(x.values(), seed + 100, -range, range);
    const tensor<float> expected = reference::run(g, x.view());
    onednn::compiled_graph compiled(g, {.batch = batch, .threads = threads});
    const tensor<float> actual = compiled.run(x.view());
    REQUIRE(actual.extents() == expected.extents());
    double worst = 0;
    std::int64_t failures = 0;
    for (std::int64_t i = 0; i < expected.numel(); ++i) {
        const double err = std::abs(static_cast<double>(actual[i]) - expected[i]);
        worst = std::max(worst, err);
        if (err > abs_tolerance + rel_tolerance * std::abs(static_cast<double>(expected[i]))) ++failures;
    }
    INFO("max abs error " << worst << "; primitives: " << [&] {
        std::string s;
        for (const auto& step : compiled.steps()) s += "\n  " + step;
        return s;
    }());
    CHECK(failures == 0);
}

graph single(shape in, layer_spec spec) {
    graph g(in);
    g.add("layer", spec);
    return g;
}

}  // namespace

TEST_CASE("parity: conv2d over a table of shapes") {
    struct row {
        shape in;
        conv2d_spec spec;
    };
    const std::vector<row> table = {
        {{3, 7, 7}, {.out_channels = 5, .kernel = 1}},
        {{4, 9, 9}, {.out_channels = 8, .kernel = 3, .padding = 1}},
        {{4, 9, 9}, {.out_channels = 8, .kernel = 3, .stride = 2, .padding = 1}},
        {{6, 11, 13}, {.out_channels = 4, .kernel = 3, .stride = 2, .groups = 2, .bias = false}},
        {{16, 10, 10}, {.out_channels = 16, .kernel = 3, .padding = 1, .groups = 16}},  // depthwise
        {{8, 15, 15},
         {.out_channels = 8, .kernel = 3, .stride = 2, .padding = 1, .groups = 8}},   // depthwise s2, odd
        {{8, 12, 12}, {.out_channels = 16, .kernel = 3, .padding = 1, .groups = 8}},  // multiplier 2
        {{5, 9, 9}, {.out_channels = 7, .kernel = {1, 7}, .padding = {0, 3}}},        // inception 1x7
        {{5, 9, 9}, {.out_channels = 7, .kernel = {7, 1}, .padding = {3, 0}}},
        {{3, 10, 10},
         {.out_channels = 6, .kernel = 3, .stride = 2, .padding = {0, 0, 1, 1}}},  // asymmetric (TF "same")
        {{32, 14, 14}, {.out_channels = 64, .kernel = 1}},
        {{3, 32, 32}, {.out_channels = 32, .kernel = 3, .stride = 2, .padding = 1, .bias = false}},
    };
    for (const auto& r : table) {
        for (std::int64_t batch : {1, 3}) {
            CAPTURE(describe(r.spec));
            CAPTURE(to_string(r.in));
            CAPTURE(batch);
            check_parity(single(r.in, r.spec), batch);
        }
    }
}

TEST_CASE("parity: dilated conv2d and depthwise conv (dilation 2 and 3, with stride and padding)") {
    struct row {
        shape in;
        conv2d_spec spec;
    };
    const std::vector<row> table = {
        {{4, 11, 11}, {.out_channels = 6, .kernel = 3, .padding = 2, .dilation = 2}},
        {{4, 13, 12}, {.out_channels = 6, .kernel = 3, .stride = 2, .padding = 3, .dilation = 3}},
        {{5, 14, 14},
         {.out_channels = 8, .kernel = 3, .stride = 2, .padding = 1, .dilation = 2, .bias = false}},
        {{6, 12, 12}, {.out_channels = 4, .kernel = 3, .padding = 2, .dilation = 2, .groups = 2}},
        {{3, 12, 15}, {.out_channels = 5, .kernel = {3, 2}, .padding = {2, 1, 1, 0}, .dilation = {2, 3}}},
        {{16, 12, 12}, {.out_channels = 16, .kernel = 3, .padding = 2, .dilation = 2, .groups = 16}},  // dw
        {{16, 15, 15},
         {.out_channels = 16, .kernel = 3, .stride = 2, .padding = 3, .dilation = 3, .groups = 16}},  // dw s2
        {{8, 13, 13},
         {.out_channels = 8,
          .kernel = 3,
          .stride = 2,
          .padding = {2, 2, 1, 1},
          .dilation = 2,
          .groups = 8,
          .bias = false}},  // dw, asymmetric padding
        {{8, 10, 10}, {.out_channels = 16, .kernel = 5, .padding = 4, .dilation = 2, .groups = 8}},  // dw x2
        {{32, 9, 9}, {.out_channels = 32, .kernel = 1, .dilation = 3}},  // a 1x1 kernel ignores dilation
    };
    for (const auto& r : table) {
        REQUIRE(r.spec.check(r.in).ok());
        for (std::int64_t batch : {1, 3})
            for (int threads : {1, 2}) {
                CAPTURE(describe(r.spec));
                CAPTURE(to_string(r.in));
                CAPTURE(batch);
                CAPTURE(threads);
                check_parity(single(r.in, r.spec), batch, threads);
            }
    }
}

TEST_CASE("parity: a dilated box filter sums the taps the dilation apart, on both backends") {
    // Hand-computed oracle, so the reference kernel's dilation is checked by something other
    // than itself: all-ones 3x3 weights, dilation (2, 3), one zero pad row on top.
    graph g = single(
        {1, 9, 10},
        conv2d_spec{
            .out_channels = 1, .kernel = 3, .padding = {1, 0, 0, 0}, .dilation = {2, 3}, .bias = false});
    tensor<float> ones(dims{1, 1, 3, 3});
    std::fill_n(ones.data(), ones.numel(), 1.0F);
    g.bind(0, {ones});
    REQUIRE(g.output_shape() == shape{1, 6, 4});
    tensor<float> x(dims{1, 1, 9, 10});
    for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(i % 17);
    const tensor<float> ref = reference::run(g, x.view());
    const tensor<float> fast = onednn::compiled_graph(g).run(x.view());
    for (std::int64_t y = 0; y < 6; ++y)
        for (std::int64_t c = 0; c < 4; ++c) {
            float sum = 0;
            for (std::int64_t ky = 0; ky < 3; ++ky)
                for (std::int64_t kx = 0; kx < 3; ++kx) {
                    const std::int64_t iy = y - 1 + 2 * ky;
                    if (iy >= 0) sum += x[iy * 10 + c + 3 * kx];
                }
            CAPTURE(y);
            CAPTURE(c);
            CHECK(ref[y * 4 + c] == sum);
            CHECK(fast[y * 4 + c] == sum);
        }
}

TEST_CASE(
    "parity: dilated convs fused with activations and a 1x1 conv before a dilated stride-2 depthwise conv") {
    for (auto kind : {activation_kind::relu, activation_kind::relu6}) {
        graph g({8, 12, 12});
        g.add("conv", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 2, .dilation = 2});
        g.add("act", activation_spec{kind});
        g.add("dw", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 3, .dilation = 3, .groups = 8});
        g.add("hs", gate_activation_spec{.kind = gate_kind::hard_swish});
        check_parity(g, 2);
    }
    // The shape of the pair oneDNN can fuse (1x1 conv, then a 3x3 stride-2 depthwise conv), but
    // dilated: its fused kernel has no dilation, so the pair must stay two convs.
    graph pair({16, 20, 20});
    pair.add("expand", conv2d_spec{.out_channels = 32, .kernel = 1});
    pair.add("relu", activation_spec{activation_kind::relu});
    pair.add(
        "dw",
        conv2d_spec{.out_channels = 32, .kernel = 3, .stride = 2, .padding = 1, .dilation = 2, .groups = 32});
    for (int threads : {1, 2}) check_parity(pair, 1, threads);
    pair.bind_random(3);
    const auto steps = onednn::compiled_graph(pair).steps();
    CHECK(std::none_of(steps.begin(), steps.end(),
                       [](const std::string& s) { return s.find("+ depthwise") != std::string::npos; }));
}

TEST_CASE("parity: dense on flat and on spatial inputs, with and without bias") {
    check_parity(single({32, 1, 1}, dense_spec{.out_features = 10}), 1);
    check_parity(single({32, 1, 1}, dense_spec{.out_features = 7, .bias = false}), 4);
    check_parity(single({6, 5, 3}, dense_spec{.out_features = 9}), 2);  // implicit NCHW flatten
}

TEST_CASE("parity: pooling (max, avg with and without padding counted, global)") {
    const std::vector<pool2d_spec> table = {
        {.kind = pool_kind::max, .kernel = 2, .stride = 2},
        {.kind = pool_kind::max, .kernel = 3, .stride = 2, .padding = 1},
        {.kind = pool_kind::avg, .kernel = 3, .stride = 1, .padding = 1, .count_include_pad = false},
        {.kind = pool_kind::avg, .kernel = 3, .stride = 1, .padding = 1, .count_include_pad = true},
        {.kind = pool_kind::avg, .kernel = 3, .stride = 2},
    };
    for (const auto& p : table) {
        CAPTURE(describe(p));
        check_parity(single({5, 9, 11}, p), 2);
    }
    check_parity(single({7, 5, 6}, global_avg_pool_spec{}), 3);
}

TEST_CASE("parity: a dilated max pool takes the max of the taps the dilation apart, on both backends") {
    // Hand-computed oracle for the reference kernel: kernel 2x2, dilation (2, 3), stride 1, one
    // padded row on top, on a ramp with a sign pattern so that the max is not always the last tap.
    const pool2d_spec spec{
        .kind = pool_kind::max, .kernel = 2, .stride = 1, .padding = {1, 0, 0, 0}, .dilation = {2, 3}};
    const graph g = single({1, 6, 7}, spec);
    REQUIRE(g.output_shape() == shape{1, 5, 4});
    tensor<float> x(dims{1, 1, 6, 7});
    for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>((i * 7) % 11) - 5.0F;
    const tensor<float> ref = reference::run(g, x.view());
    const tensor<float> fast = onednn::compiled_graph(g).run(x.view());
    for (std::int64_t y = 0; y < 5; ++y)
        for (std::int64_t c = 0; c < 4; ++c) {
            float max = -1e30F;
            for (std::int64_t ky = 0; ky < 2; ++ky)
                for (std::int64_t kx = 0; kx < 2; ++kx) {
                    const std::int64_t iy = y - 1 + 2 * ky;
                    if (iy >= 0) max = std::max(max, x[iy * 7 + c + 3 * kx]);
                }
            CAPTURE(y);
            CAPTURE(c);
            CHECK(ref[y * 4 + c] == max);
            CHECK(fast[y * 4 + c] == max);
        }
}

TEST_CASE(
    "parity: dilated max pooling (dilation 2 and (2, 3), stride, padding, end padding past the kernel)") {
    const std::vector<pool2d_spec> table = {
        {.kind = pool_kind::max, .kernel = 3, .stride = 1, .padding = 1, .dilation = 2},
        {.kind = pool_kind::max, .kernel = 2, .stride = 2, .padding = 1, .dilation = {2, 3}},
        {.kind = pool_kind::max, .kernel = 3, .stride = 2, .dilation = 2},
        // ceil mode's extra end padding: 2 rows after a 2-tap window, still reading a pixel each.
        {.kind = pool_kind::max, .kernel = 2, .stride = 2, .padding = {1, 1, 2, 2}, .dilation = {2, 3}},
    };
    for (const auto& p : table) {
        CAPTURE(describe(p));
        check_parity(single({5, 12, 13}, p), 2);
    }
}

TEST_CASE("pool2d: dilation is checked (max pooling only, positive, every window reads the input)") {
    const pool2d_spec avg{.kind = pool_kind::avg, .kernel = 2, .dilation = 2};
    CHECK(avg.check({1, 8, 8}).message().find("max pooling only") != std::string::npos);
    const pool2d_spec zero{.kernel = 2, .dilation = {1, 0}};
    CHECK(zero.check({1, 8, 8}).message().find("dilation must be positive") != std::string::npos);
    // 2 rows of padding before 2 taps 3 apart: the first window's taps at -2 and 1 read row 1.
    // 3 rows before 2 taps 2 apart: its taps at -3 and -1 read only padding.
    const pool2d_spec reads{.kernel = 2, .stride = 1, .padding = {2, 0, 0, 0}, .dilation = {3, 1}};
    CHECK(reads.check({1, 6, 6}).ok());
    const pool2d_spec padding_only{.kernel = 2, .stride = 1, .padding = {3, 0, 0, 0}, .dilation = {2, 1}};
    CHECK(padding_only.check({1, 6, 6}).message().find("reads only padding") != std::string::npos);
    const pool2d_spec too_wide{.kernel = 3, .dilation = 4};
    CHECK(too_wide.check({1, 8, 8}).message().find("dilated kernel is larger") != std::string::npos);
    CHECK(describe(pool2d_spec{.dilation = {2, 3}}).find(",d=2x3") != std::string::npos);
    CHECK(describe(pool2d_spec{}).find(",d=") == std::string::npos);  // undilated text unchanged
}

TEST_CASE("parity: element-wise layers, batch-norm, softmax, flatten on their own") {
    for (auto kind : {activation_kind::relu, activation_kind::relu6, activation_kind::sigmoid}) {
        CAPTURE(to_string(kind));
        graph g({4, 5, 5});
        g.add("pool", pool2d_spec{.kind = pool_kind::avg, .kernel = 1, .stride = 1});
        g.add("act", activation_spec{kind});
        check_parity(g, 2, 1, 3);
    }
    graph bn({6, 7, 7});  // batch-norm after pooling cannot fold into a conv: oneDNN runs it
    bn.add("pool", pool2d_spec{.kind = pool_kind::max, .kernel = 3, .stride = 1, .padding = 1});
    bn.add("bn", batch_norm_spec{.epsilon = 1e-3F});
    check_parity(bn, 2);
    check_parity(single({10, 1, 1}, softmax_spec{}), 3);
    check_parity(single({4, 3, 3}, softmax_spec{}), 2);
    graph flat({3, 4, 5});
    flat.add("conv", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1});
    flat.add("flatten", flatten_spec{});
    flat.add("fc", dense_spec{.out_features = 6});
    check_parity(flat, 2);
}

TEST_CASE("parity: hard-sigmoid, hard-swish and SiLU alone and fused as post-ops") {
    const gate_activation_spec gates[] = {
        {gate_kind::hard_sigmoid},                         // PyTorch's 1/6, 1/2
        {.kind = gate_kind::hard_sigmoid, .alpha = 0.2F},  // ONNX's default
        {gate_kind::hard_swish},
        {gate_kind::silu},
    };
    for (const auto& gate : gates) {
        CAPTURE(describe(gate));
        // Alone (a pooling is never fused with an activation), over inputs beyond the +-3 knees.
        graph alone({4, 5, 5});
        alone.add("pool", pool2d_spec{.kind = pool_kind::avg, .kernel = 1, .stride = 1});
        alone.add("gate", gate);
        check_parity(alone, 2, 1, 3, 8.0F);
        // As a post-op of a conv, a conv + residual add and a dense layer.
        graph conv({8, 9, 9});
        conv.add("conv", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1});
        conv.add("gate", gate);
        check_parity(conv, 1, 1, 5, 6.0F);
        graph res({8, 6, 6});
        const auto x = res.add("c0", conv2d_spec{.out_channels = 8, .kernel = 1});
        res.add("c1", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1});
        res.add("add", add_spec{}, {res.last_value(), x});
        res.add("gate", gate);
        check_parity(res, 2, 1, 7, 6.0F);
        graph fc({6, 2, 2});
        fc.add("flatten", flatten_spec{});
        fc.add("fc", dense_spec{.out_features = 10});
        fc.add("gate", gate);
        check_parity(fc, 3, 1, 9, 6.0F);
        // A MobileNetV3 expansion: 1x1 conv + gate before a 3x3 stride-2 depthwise conv + gate,
        // the pair oneDNN may run as one primitive.
        graph dw({8, 16, 16});
        dw.add("expand", conv2d_spec{.out_channels = 24, .kernel = 1});
        dw.add("expand_gate", gate);
        dw.add("dw", conv2d_spec{.out_channels = 24, .kernel = 3, .stride = 2, .padding = 1, .groups = 24});
        dw.add("dw_gate", gate);
        check_parity(dw, 1, 2, 11, 6.0F);
    }
}

TEST_CASE("parity: multiply, same shape and per channel (squeeze-and-excitation)") {
    // SiLU as ONNX writes it below opset 14: x * sigmoid(x).
    graph silu({8, 7, 7});
    const auto x = silu.add("conv", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1});
    const auto s = silu.add("sigmoid", activation_spec{activation_kind::sigmoid});
    silu.add("mul", multiply_spec{}, {x, s});
    check_parity(silu, 2, 1, 13);
    // A MobileNetV3 squeeze-and-excitation block: the gate is one value per image and channel.
    graph se({16, 9, 9});
    const auto f = se.add("dw", conv2d_spec{.out_channels = 16, .kernel = 3, .padding = 1, .groups = 16});
    const auto act = se.add("dw_act", gate_activation_spec{gate_kind::hard_swish});
    se.add("squeeze", global_avg_pool_spec{});
    se.add("fc1", conv2d_spec{.out_channels = 8, .kernel = 1});
    se.add("relu", activation_spec{activation_kind::relu});
    se.add("fc2", conv2d_spec{.out_channels = 16, .kernel = 1});
    const auto gate = se.add("gate", gate_activation_spec{gate_kind::hard_sigmoid});
    se.add("scale", multiply_spec{}, {act, gate});
    se.add("project", conv2d_spec{.out_channels = 8, .kernel = 1});
    CHECK(f == 0);
    check_parity(se, 2, 1, 15);
    check_parity(se, 1, 2, 17);
    // The multiply writes over its first input only where nothing reads that later: here the
    // block's input to the scale is also the addend of a residual add after it.
    graph se_skip = se;
    se_skip.add("expand", conv2d_spec{.out_channels = 16, .kernel = 1});
    se_skip.add("skip", add_spec{}, {se_skip.last_value(), act});
    check_parity(se_skip, 2, 1, 19);
    check_parity(se_skip, 1, 2, 21);
    // Shapes that neither match nor broadcast per channel are refused by name.
    graph bad({4, 5, 5});
    const auto a = bad.add("a", conv2d_spec{.out_channels = 4, .kernel = 1});
    const auto b = bad.add("b", conv2d_spec{.out_channels = 4, .kernel = 3, .stride = 2}, {graph_input});
    CHECK_THROWS_WITH_AS(bad.add("mul", multiply_spec{}, {a, b}), doctest::Contains("multiply"), error);
}

TEST_CASE("parity: fused conv + activation, conv + residual add + relu, dense + relu") {
    for (auto kind : {activation_kind::relu, activation_kind::relu6, activation_kind::sigmoid}) {
        graph g({8, 9, 9});
        g.add("conv", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1});
        g.add("act", activation_spec{kind});
        check_parity(g, 1);
    }
    graph res({8, 10, 10});
    const auto x = res.add("c0", conv2d_spec{.out_channels = 16, .kernel = 1});
    res.add("c1", conv2d_spec{.out_channels = 16, .kernel = 3, .padding = 1, .bias = false});
    res.add("bn", batch_norm_spec{});
    const auto c2 = res.add("c2", conv2d_spec{.out_channels = 16, .kernel = 3, .padding = 1});
    res.add("sum", add_spec{}, {c2, x});
    res.add("relu", activation_spec{activation_kind::relu});
    check_parity(res, 2);
    onednn::compiled_graph compiled([&] {
        graph bound = res;
        bound.bind_random(1);
        return bound;
    }());
    const auto steps = compiled.steps();
    CHECK(std::any_of(steps.begin(), steps.end(),
                      [](const std::string& s) { return s.find("+ add + relu") != std::string::npos; }));

    graph fc({12, 1, 1});
    fc.add("fc", dense_spec{.out_features = 5});
    fc.add("relu", activation_spec{activation_kind::relu});
    check_parity(fc, 3);
}

TEST_CASE("onednn: a 1x1 conv with a fused residual add runs on the kernel the conv has without it") {
    // An inverted-residual block (1x1 expand, 3x3 depthwise, 1x1 project + add), with the addend a
    // conv's result and with the addend the graph input (plain NCHW). oneDNN 2.6 falls back to
    // x64:gemm:jit or ref:any when the addend's layout is not one its fast kernel adds in: such a
    // step must not appear where the same project conv without the add gets a fast kernel.
    const auto is_slow = [](const std::string& step) {
        const std::string impl = step.substr(step.rfind(": ") + 2);
        return impl.starts_with("ref") || impl.find("gemm") != std::string::npos;
    };
    const auto project_step = [](const std::vector<std::string>& steps) {
        const auto it = std::find_if(steps.begin(), steps.end(),
                                     [](const std::string& s) { return s.starts_with("conv 'project'"); });
        REQUIRE(it != steps.end());
        return *it;
    };
    for (const bool addend_is_input : {false, true}) {
        CAPTURE(addend_is_input);
        const auto block = [&](bool with_add) {
            graph g({24, 14, 14});
            const value_id x =
                addend_is_input ? graph_input : g.add("stem", conv2d_spec{.out_channels = 24, .kernel = 1});
            g.add("expand", conv2d_spec{.out_channels = 96, .kernel = 1}, {x});
            g.add("relu", activation_spec{activation_kind::relu6});
            g.add("dw", conv2d_spec{.out_channels = 96, .kernel = 3, .padding = 1, .groups = 96});
            const auto project = g.add("project", conv2d_spec{.out_channels = 24, .kernel = 1});
            if (with_add) g.add("sum", add_spec{}, {project, x});
            return g;
        };
        check_parity(block(true), 1);
        check_parity(block(true), 2, 2, 3);
        const auto compile = [&](bool with_add) {
            graph g = block(with_add);
            g.bind_random(1);
            return onednn::compiled_graph(g).steps();
        };
        const std::string fused = project_step(compile(true));
        const std::string alone = project_step(compile(false));
        CAPTURE(fused);
        CAPTURE(alone);
        CHECK(fused.find("+ add") != std::string::npos);
        if (!is_slow(alone)) CHECK_FALSE(is_slow(fused));
    }
}

TEST_CASE("parity: a residual add summed into its addend keeps every other reader of the addend intact") {
    // A conv's fused residual add may run as oneDNN's sum post-op over the addend's own bytes, but
    // only where nothing reads them afterwards; each graph here has a reader that an overwrite in the
    // wrong place would corrupt, and the reference backend would tell.
    const conv2d_spec pointwise{.out_channels = 16, .kernel = 1};
    const conv2d_spec spatial{.out_channels = 16, .kernel = 3, .padding = 1};
    const auto addend_read_later = [&] {  // x is read again after the add: summed into a copy
        graph g({16, 9, 9});
        const auto x = g.add("stem", pointwise);
        const auto c = g.add("c", spatial);
        const auto sum = g.add("sum", add_spec{}, {c, x});
        const auto tail = g.add("tail", pointwise, {x});
        g.add("join", add_spec{}, {sum, tail});
        return g;
    };
    const auto conv_reads_its_addend = [&] {  // y = conv(x) + x: the conv reads what it sums into
        graph g({16, 9, 9});
        const auto x = g.add("stem", pointwise);
        const auto c = g.add("c", spatial, {x});
        g.add("sum", add_spec{}, {c, x});
        g.add("relu", activation_spec{activation_kind::relu});
        return g;
    };
    const auto two_blocks_one_addend = [&] {  // x + f(x), then x + g(x): only the second overwrites x
        graph g({16, 9, 9});
        const auto x = g.add("stem", pointwise);
        g.add("f", spatial, {x});
        const auto a = g.add("sum_a", add_spec{}, {g.last_value(), x});
        g.add("g", spatial, {x});
        const auto b = g.add("sum_b", add_spec{}, {g.last_value(), x});
        g.add("join", add_spec{}, {a, b});
        return g;
    };
    const auto input_as_addend = [&] {  // the graph input, read by two layers, converted first
        graph g({16, 9, 9});
        g.add("c", spatial, {graph_input});
        g.add("sum", add_spec{}, {g.last_value(), graph_input});
        g.add("pool", pool2d_spec{.kind = pool_kind::max, .kernel = 3, .stride = 1, .padding = 1},
              {graph_input});
        return g;
    };
    const auto chain_of_blocks = [&] {  // inverted residuals in a row, each addend read by the next
        graph g({16, 9, 9});
        value_id x = g.add("stem", pointwise);
        for (int k = 0; k < 3; ++k) {
            const std::string b = std::to_string(k);
            g.add("expand" + b, conv2d_spec{.out_channels = 48, .kernel = 1}, {x});
            g.add("act" + b, activation_spec{activation_kind::relu6});
            g.add("dw" + b, conv2d_spec{.out_channels = 48, .kernel = 3, .padding = 1, .groups = 48});
            g.add("project" + b, pointwise);
            x = g.add("sum" + b, add_spec{}, {g.last_value(), x});
        }
        g.add("head", pointwise, {x});
        return g;
    };
    const std::vector<std::function<graph()>> graphs{addend_read_later, conv_reads_its_addend,
                                                     two_blocks_one_addend, input_as_addend, chain_of_blocks};
    for (const auto& make : graphs) {
        check_parity(make(), 1);
        check_parity(make(), 2, 2, 7);
    }
    // Where the sum path is taken, an addend that is read later is summed into a copy of it.
    graph g = addend_read_later();
    g.bind_random(1);
    const auto steps = onednn::compiled_graph(g).steps();
    const auto has = [&](const std::string& text) {
        return std::any_of(steps.begin(), steps.end(),
                           [&](const std::string& s) { return s.find(text) != std::string::npos; });
    };
    if (has("(summed")) {
        CHECK(has("copy of the addend of layer 'c'"));
        CHECK(has("(summed into a copy)"));
    }
}

TEST_CASE("parity: add of three inputs and concat of differently produced branches") {
    graph g({6, 8, 8});
    const auto a = g.add("a", conv2d_spec{.out_channels = 6, .kernel = 1});
    const auto b = g.add("b", pool2d_spec{.kind = pool_kind::max, .kernel = 3, .stride = 1, .padding = 1},
                         {graph_input});
    const auto c =
        g.add("c", conv2d_spec{.out_channels = 6, .kernel = 3, .padding = 1, .groups = 6}, {graph_input});
    const auto sum = g.add("sum", add_spec{}, {a, b, c});
    const auto d = g.add("d", conv2d_spec{.out_channels = 5, .kernel = 3, .padding = 1}, {graph_input});
    g.add("cat", concat_spec{}, {sum, d, b});
    check_parity(g, 2);
}

namespace {

/// A graph with nested concats, a value in two concats, the graph input in a concat and inputs of
/// odd channel counts.
graph concat_graph() {
    graph g({16, 9, 9});
    const auto a = g.add("a", conv2d_spec{.out_channels = 16, .kernel = 1});
    const auto b = g.add("b", conv2d_spec{.out_channels = 16, .kernel = 3, .padding = 1}, {a});
    const auto b_relu = g.add("b_relu", activation_spec{activation_kind::relu}, {b});
    const auto c = g.add("c", conv2d_spec{.out_channels = 32, .kernel = 1}, {a});
    const auto inner = g.add("inner", concat_spec{}, {b_relu, c});
    const auto p =
        g.add("p", pool2d_spec{.kind = pool_kind::max, .kernel = 3, .stride = 1, .padding = 1}, {a});
    const auto x = g.add("x", conv2d_spec{.out_channels = 48, .kernel = 3, .padding = 1}, {a});
    const auto outer = g.add("outer", concat_spec{}, {a, inner, p, x, b_relu});
    const auto with_input = g.add("with_input", concat_spec{}, {graph_input, outer});
    const auto three = g.add("three", conv2d_spec{.out_channels = 3, .kernel = 1}, {with_input});
    const auto five = g.add("five", conv2d_spec{.out_channels = 5, .kernel = 1}, {with_input});
    g.add("odd", concat_spec{}, {three, five, x});
    return g;
}

}  // namespace

TEST_CASE("parity: concats written in place: nested, a value in two concats, the graph input, odd channels") {
    const graph g = concat_graph();
    for (std::int64_t batch : {1, 2})
        for (int threads : {1, 2}) check_parity(g, batch, threads);
}

TEST_CASE(
    "onednn: batch-1 concats are written in place where the conv layout keeps channel blocks contiguous") {
    // The premise: convolutions here keep activations of the concats' sizes in a layout in which
    // whole channel blocks are contiguous (nchw, nChw8c, nChw16c). With channels innermost (nhwc,
    // which oneDNN 2.6's brgconv picks on AVX-512) no input's range is contiguous: every concat is
    // then a copy, rightly.
    std::string layouts;
    bool contiguous = true;
    for (const std::int64_t channels : {48, 144, 160}) {  // inner, outer, with_input
        const auto md = onednn::convolution_layout({1, channels, 9, 9}, dnnl::memory::data_type::f32);
        const auto block = md ? onednn::in_place_concat_block(*md) : std::nullopt;
        contiguous = contiguous && block.has_value();
        layouts +=
            " " + std::to_string(channels) + "ch: " + (md ? onednn::describe(*md) : std::string("none"));
    }
    STEMSHARE_SKIP_IF(!contiguous, "the conv layout of the concats has no contiguous channel blocks on ISA " +
                                       onednn::cpu_isa_name() + " (layouts" + layouts + ")");
    graph g = concat_graph();
    g.bind_random(1);
    const auto has_step = [](const std::vector<std::string>& steps, const std::string& prefix) {
        return std::any_of(steps.begin(), steps.end(),
                           [&](const std::string& s) { return s.starts_with(prefix); });
    };
    // Batch 1: producers write into the concat results; only the graph input and the second use
    // of b_relu (its range is in 'outer') are copied, and 3 + 5 channels cannot be split in blocks.
    const auto one = onednn::compiled_graph(g, {.batch = 1}).steps();
    CHECK_FALSE(has_step(one, "concat 'inner'"));
    CHECK_FALSE(has_step(one, "concat 'outer'"));
    CHECK_FALSE(has_step(one, "concat 'with_input'"));
    CHECK(has_step(one, "copy of input 0 into concat 'with_input'"));
    CHECK(has_step(one, "copy of input 0 into concat 'inner'"));
    CHECK_FALSE(has_step(one, "copy of input 1 into concat 'inner'"));
    CHECK(has_step(one, "concat 'odd'"));
    // Batch 2: one image's channel range is not contiguous, so every concat is a primitive.
    const auto two = onednn::compiled_graph(g, {.batch = 2}).steps();
    CHECK(has_step(two, "concat 'inner'"));
    CHECK(has_step(two, "concat 'outer'"));
}

namespace {

/// MobileNetV2's 112x112 pair: 1x1 expansion 16 -> 96 [+ relu6], 3x3 stride-2 depthwise [+ relu6],
/// then a 1x1 projection to 24.
graph expand_depthwise_project(bool expand_bias, bool dw_bias, bool activations) {
    graph g({16, 112, 112});
    auto v = g.add("expand", conv2d_spec{.out_channels = 96, .kernel = 1, .bias = expand_bias});
    if (activations) v = g.add("expand_relu6", activation_spec{activation_kind::relu6}, {v});
    v = g.add("dw",
              conv2d_spec{
                  .out_channels = 96, .kernel = 3, .stride = 2, .padding = 1, .groups = 96, .bias = dw_bias},
              {v});
    if (activations) v = g.add("dw_relu6", activation_spec{activation_kind::relu6}, {v});
    g.add("project", conv2d_spec{.out_channels = 24, .kernel = 1}, {v});
    return g;
}

}  // namespace

TEST_CASE("parity: 1x1 conv + stride-2 depthwise pairs match the reference and give the same bits when cut") {
    for (const bool expand_bias : {true, false})
        for (const bool dw_bias : {true, false})
            for (const bool activations : {true, false}) {
                CAPTURE(expand_bias);
                CAPTURE(dw_bias);
                CAPTURE(activations);
                graph g = expand_depthwise_project(expand_bias, dw_bias, activations);
                for (std::int64_t batch : {1, 2})
                    for (int threads : {1, 2}) check_parity(g, batch, threads);
                g.bind_random(1);
                // The stem runtime promises the same bits whatever the cuts: a model cut between the
                // two convs (no fusion) must match the fused whole.
                const std::size_t dw_at = activations ? 2 : 1;
                tensor<float> x(dims{1, 16, 112, 112});
                fill_uniform(x.values(), 9);
                const tensor<float> whole = onednn::compiled_graph(g, {.threads = 2}).run(x.view());
                const tensor<float> mid =
                    onednn::compiled_graph(g.slice(0, dw_at), {.threads = 2}).run(x.view());
                const tensor<float> cut =
                    onednn::compiled_graph(g.slice(dw_at, g.size()), {.threads = 2}).run(mid.view());
                CHECK(std::memcmp(whole.data(), cut.data(),
                                  static_cast<std::size_t>(whole.numel()) * sizeof(float)) == 0);
            }
}

TEST_CASE(
    "onednn: a stride-2 depthwise conv runs inside the 1x1 conv before it where oneDNN has a jit kernel for "
    "the pair") {
    // The premise: oneDNN has a jit kernel for the fused pair here (with and without the
    // activations) whose bits match the pair run unfused (the probe a compiled graph runs before
    // fusing: the stem runtime promises the same bits whatever the cuts). AVX2 and SSE4.1 have one
    // for both; AVX (no AVX2) only without activations; on AVX-512 oneDNN 2.6 runs the unfused pair
    // on other kernels (brgconv) whose bits differ, so the pair is not fused there.
    const std::string with_activations =
        onednn::fused_depthwise_implementation({16, 112, 112}, 96, activation_kind::relu6);
    const std::string without_activations = onednn::fused_depthwise_implementation({16, 112, 112}, 96);
    STEMSHARE_SKIP_IF(!with_activations.starts_with("jit") || !without_activations.starts_with("jit"),
                      "oneDNN has no jit kernel for the fused 1x1 + depthwise pair on ISA " +
                          onednn::cpu_isa_name() + " (with relu6: '" + with_activations + "', without: '" +
                          without_activations + "')");
    std::string differ;
    for (const auto activation : {std::optional{activation_kind::relu6}, std::optional<activation_kind>{}})
        for (const bool dw_bias : {true, false})
            if (!onednn::fused_depthwise_matches_unfused({16, 112, 112}, 96, activation, dw_bias))
                differ += std::string(" ") + (activation ? "relu6" : "no-activation") +
                          (dw_bias ? "/dw-bias" : "/no-dw-bias");
    STEMSHARE_SKIP_IF(!differ.empty(), "oneDNN's fused 1x1 + depthwise kernel ('" + with_activations +
                                           "') gives other bits than the unfused pair on ISA " +
                                           onednn::cpu_isa_name() + " (" + differ +
                                           " ), so compiled graphs do not fuse it");
    const auto has_step = [](const std::vector<std::string>& steps, const std::string& part) {
        return std::any_of(steps.begin(), steps.end(),
                           [&](const std::string& s) { return s.find(part) != std::string::npos; });
    };
    // oneDNN's fused kernel needs the 1x1 conv's bias: without one the pair stays two steps.
    for (const bool expand_bias : {true, false})
        for (const bool dw_bias : {true, false})
            for (const bool activations : {true, false}) {
                CAPTURE(expand_bias);
                CAPTURE(dw_bias);
                CAPTURE(activations);
                graph g = expand_depthwise_project(expand_bias, dw_bias, activations);
                g.bind_random(1);
                const auto steps = onednn::compiled_graph(g).steps();
                const bool fused =
                    has_step(steps, "conv 'expand'" + std::string(activations ? " + relu6" : "") +
                                        " + depthwise 'dw'");
                CHECK(fused == expand_bias);
                // Conv steps only: the reorders around them depend on the layouts the ISA picks.
                const auto convs = std::count_if(
                    steps.begin(), steps.end(), [](const std::string& s) { return s.starts_with("conv '"); });
                CHECK(convs == (expand_bias ? 2 : 3));
            }
}

TEST_CASE("onednn: batch-norms differing only in a tiny epsilon do not share a cached primitive") {
    // A batch-norm after a pooling is not folded; with zero variance its output is x / sqrt(eps),
    // so 1e-7 and 1e-9 (which std::to_string printed alike) give results 10x apart.
    for (const float eps : {1e-7F, 1e-9F}) {
        CAPTURE(eps);
        graph g({2, 3, 3});
        g.add("pool", pool2d_spec{.kind = pool_kind::max, .kernel = 3, .stride = 1, .padding = 1});
        g.add("bn", batch_norm_spec{.epsilon = eps});
        std::vector<tensor<float>> params;
        for (float value : {1.0F, 0.0F, 0.0F, 0.0F}) {  // scale, shift, mean, variance
            tensor<float> t(dims{2});
            fill_constant(t.values(), value);
            params.push_back(std::move(t));
        }
        g.bind(1, std::move(params));
        tensor<float> x(dims{1, 2, 3, 3});
        fill_uniform(x.values(), 3, 0.5F, 1.0F);
        const tensor<float> expected = reference::run(g, x.view());
        const tensor<float> actual = onednn::compiled_graph(g).run(x.view());
        for (std::int64_t i = 0; i < expected.numel(); ++i)
            CHECK(std::abs(actual[i] - expected[i]) <= 1e-4F * std::abs(expected[i]));
    }
    CHECK(describe(batch_norm_spec{.epsilon = 1e-7F}) != describe(batch_norm_spec{.epsilon = 1e-9F}));
    CHECK(describe(batch_norm_spec{.epsilon = 1e-5F}) == "batch_norm(eps=1e-05)");
}

TEST_CASE("parity: a whole small chain (conv-bn-relu6-dw-pool-dense-softmax), at 1 and 2 threads") {
    using namespace stemshare::layers;
    constexpr auto net = input<3, 17, 17> |
                         conv2d<{.out_channels = 16, .kernel = 3, .stride = 2, .padding = 1, .bias = false}> |
                         batch_norm | relu6 | depthwise_conv2d<{.kernel = 3, .padding = 1, .bias = false}> |
                         batch_norm | relu6 | conv2d<{.out_channels = 24, .bias = false}> | batch_norm |
                         relu6 | max_pool2d<{.kernel = 3, .stride = 2, .padding = 1}> | global_avg_pool |
                         flatten | dense<{.out_features = 10}> | softmax;
    for (int threads : {1, 2})
        for (std::int64_t batch : {1, 5}) check_parity(net.to_graph(), batch, threads, 77);
}

TEST_CASE(
    "parity: a compile-time chain of hard-swish, SiLU and hard-sigmoid blocks, with its branch points") {
    using namespace stemshare::layers;
    constexpr auto net =
        input<3, 16, 16> |
        block(conv2d<{.out_channels = 16, .kernel = 3, .stride = 2, .padding = 1, .bias = false}> |
              batch_norm | hard_swish) |
        block(depthwise_conv2d<{.kernel = 3, .padding = 1, .bias = false}> | batch_norm | silu) |
        block(conv2d<{.out_channels = 8}> | hard_sigmoid) | global_avg_pool | flatten |
        dense<{.out_features = 5}>;
    static_assert(net.output_shape() == shape{5, 1, 1});
    static_assert(net.branch_points()[1] == 3 && net.branch_points()[2] == 6);
    for (int threads : {1, 2}) check_parity(net.to_graph(), 3, threads, 79);
}

TEST_CASE("onednn: a compiled graph runs in the caller's workspace with the same bits, and back in its own") {
    // Nested concats written in place, padded channel blocks (3 and 5 channels), the input in a
    // concat: every kind of value the arena holds.
    graph g = concat_graph();
    g.bind_random(5);
    onednn::compiled_graph compiled(g, {.threads = 1});
    REQUIRE(compiled.workspace_bytes() >= compiled.arena_bytes() + compiled.scratchpad_bytes());

    tensor<float> src(dims{1, 16, 9, 9});
    fill_uniform(src.values(), 3, -1.0F, 1.0F);
    const tensor<float> own = compiled.run(src.view());
    CHECK(std::all_of(own.values().begin(), own.values().end(), [](float v) { return std::isfinite(v); }));
    // A workspace full of NaNs: any byte read before the run wrote it would show in the output.
    struct page_delete {
        void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{4096}); }
    };
    const std::size_t bytes = compiled.workspace_bytes();
    std::unique_ptr<std::byte[], page_delete> workspace(new (std::align_val_t{4096}) std::byte[bytes]);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (std::size_t i = 0; i + sizeof(float) <= bytes; i += sizeof(float))
        std::memcpy(workspace.get() + i, &nan, sizeof(float));
    compiled.use_workspace(workspace.get());
    for (int run = 0; run < 2; ++run) {
        const tensor<float> in_workspace = compiled.run(src.view());
        CHECK(std::memcmp(in_workspace.data(), own.data(), own.values().size() * sizeof(float)) == 0);
    }
    compiled.use_workspace(nullptr);
    std::memset(workspace.get(), 0xff, bytes);  // no longer read
    const tensor<float> back = compiled.run(src.view());
    CHECK(std::memcmp(back.data(), own.data(), own.values().size() * sizeof(float)) == 0);
}

TEST_CASE("onednn: wrong input shape, wrong batch, unbound weights and bad options are clear errors") {
    graph g({3, 8, 8});
    g.add("conv", conv2d_spec{.out_channels = 4, .kernel = 3});
    CHECK_THROWS_WITH_AS(onednn::compiled_graph{g}, doctest::Contains("layer 'conv': has no weights bound"),
                         error);
    g.bind_random(1);
    CHECK_THROWS_WITH_AS(onednn::compiled_graph(g, {.batch = 0}), doctest::Contains("batch must be positive"),
                         error);
    CHECK_THROWS_WITH_AS(onednn::compiled_graph(g, {.threads = -1}), doctest::Contains("thread count"),
                         error);
    onednn::compiled_graph compiled(g, {.batch = 2, .threads = 1});
    tensor<float> wrong(dims{2, 3, 8, 9});
    CHECK_THROWS_WITH_AS((void)compiled.run(wrong.view()),
                         doctest::Contains("input must be plain {2, 3, 8, 8}, got {2, 3, 8, 9}"), error);
    tensor<float> wrong_batch(dims{1, 3, 8, 8});
    CHECK_THROWS_WITH_AS((void)compiled.run(wrong_batch.view()), doctest::Contains("got {1, 3, 8, 8}"),
                         error);
    tensor<float> nhwc(dims{2, 3, 8, 8}, layout::nhwc);
    CHECK_THROWS_WITH_AS((void)compiled.run(nhwc.view()), doctest::Contains("nhwc"), error);
}

TEST_CASE("onednn: the primitive cache reuses primitives across identical models and keys on threads") {
    graph g({8, 12, 12});
    g.add("conv", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1});
    g.add("relu", activation_spec{activation_kind::relu});
    g.bind_random(2);
    auto& cache = onednn::primitive_cache::global();
    cache.clear();
    onednn::compiled_graph first(g, {.threads = 1});
    const auto after_first = cache.size();
    CHECK(after_first > 0);
    onednn::compiled_graph second(g, {.threads = 1});
    CHECK(cache.size() == after_first);
    CHECK(cache.hits() >= 1);
    onednn::compiled_graph other_threads(g, {.threads = 2});
    CHECK(cache.size() > after_first);
    tensor<float> x(dims{1, 8, 12, 12});
    fill_uniform(x.values(), 3);
    const auto a = first.run(x.view());
    const auto b = second.run(x.view());
    for (std::int64_t i = 0; i < a.numel(); ++i) CHECK(a[i] == b[i]);
}
