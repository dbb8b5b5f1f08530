// Zoo tier: each model's published multiply-accumulate and parameter counts (checked at compile
// time and reported by name), its branch points, the name lookup, and its parity between oneDNN
// and the reference backend on seeded random weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <stemshare/stemshare.hpp>
#include <stemshare/zoo/fashion_mobilenet_wide.hpp>
#include <stemshare/zoo/zoo.hpp>

#include "support/allocation_counter.hpp"
#include "support/skip.hpp"

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
// The wide 28 x 28 net (Ekya's golden model): 3.6x the small net's work, same input and classes.
static_assert(near(zoo::fashion_mobilenet_wide.flops() / 2, 4.52e6, 0.01));
static_assert(near(zoo::fashion_mobilenet_wide.flops(), 3.6 * zoo::fashion_mobilenet.flops(), 0.02));
static_assert(zoo::fashion_mobilenet_wide.param_count() > 3 * zoo::fashion_mobilenet.param_count());
static_assert(zoo::fashion_mobilenet_wide.output_shape() == zoo::fashion_mobilenet.output_shape());

// The edge models against torchvision 0.14's modules, counted by tools/zoo/torchvision_macs.py:
// conv and linear multiply-accumulates (the convention of torchvision's published GFLOPS column:
// 0.217, 0.057, 0.386), and every parameter plus the batch-norm running statistics. Our FLOPs are
// 2 x those MACs plus one per element of each squeeze-and-excitation multiply, which the script
// prints too; so the chains equal torchvision's layer for layer, not just within a tolerance.
struct torchvision_count {
    std::int64_t macs;
    std::int64_t se_multiply_elements;
    std::int64_t params_with_bn_stats;
};
constexpr torchvision_count tv_mobilenet_v3_large{216'589'760, 597'408, 5'507'432};
constexpr torchvision_count tv_mobilenet_v3_small{56'510'400, 285'376, 2'554'968};
constexpr torchvision_count tv_efficientnet_b0{385'814'752, 2'306'528, 5'330'564};
constexpr bool equals_torchvision(std::int64_t flops, std::int64_t params, torchvision_count tv) {
    return flops == 2 * tv.macs + tv.se_multiply_elements && params == tv.params_with_bn_stats;
}
static_assert(equals_torchvision(zoo::mobilenet_v3_large.flops(), zoo::mobilenet_v3_large.param_count(),
                                 tv_mobilenet_v3_large));
static_assert(equals_torchvision(zoo::mobilenet_v3_small.flops(), zoo::mobilenet_v3_small.param_count(),
                                 tv_mobilenet_v3_small));
static_assert(equals_torchvision(zoo::efficientnet_b0.flops(), zoo::efficientnet_b0.param_count(),
                                 tv_efficientnet_b0));
// And the published figures: MACs within 1% (the SE multiplies are 0.1-0.3% of them), parameters
// (5.5 M, 2.5 M, 5.3 M) within 2%.
static_assert(near(zoo::mobilenet_v3_large.flops() / 2, 217e6, 0.01));
static_assert(near(zoo::mobilenet_v3_large.param_count(), 5.5e6, 0.02));
static_assert(near(zoo::mobilenet_v3_small.flops() / 2, 57e6, 0.01));
static_assert(near(zoo::mobilenet_v3_small.param_count(), 2.5e6, 0.025));
static_assert(near(zoo::efficientnet_b0.flops() / 2, 386e6, 0.01));
static_assert(near(zoo::efficientnet_b0.param_count(), 5.3e6, 0.02));
static_assert(zoo::mobilenet_v3_large.output_shape() == shape{1000, 1, 1});
static_assert(zoo::mobilenet_v3_small.output_shape() == shape{1000, 1, 1});
static_assert(zoo::efficientnet_b0.output_shape() == shape{1000, 1, 1});
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

TEST_CASE(
    "zoo: every model's graph agrees with its chain's constexpr counts and declares its branch points") {
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

TEST_CASE("zoo: mobilenet_v3_large, mobilenet_v3_small and efficientnet_b0 by name have torchvision's counts") {
    const auto check_model = [](std::string_view name, torchvision_count tv) {
        CAPTURE(std::string(name));
        const auto& m = zoo::find_model(name);
        CHECK(m.input == shape{3, 224, 224});
        CHECK(m.flops == 2 * tv.macs + tv.se_multiply_elements);
        CHECK(m.params == tv.params_with_bn_stats);
        MESSAGE(name << ": " << m.flops / 2 << " FLOP/2 (torchvision " << tv.macs << " MACs), " << m.params
                     << " parameters with batch-norm statistics");
    };
    check_model("mobilenet_v3_large", tv_mobilenet_v3_large);
    check_model("mobilenet_v3_small", tv_mobilenet_v3_small);
    check_model("efficientnet_b0", tv_efficientnet_b0);
}

namespace {

/// The number of multiply nodes (squeeze-and-excitation gates) in `g`, after checking that no
/// branch point falls inside one's span: between the layer after the gated input and the multiply.
std::size_t checked_se_spans(const graph& g) {
    const auto points = g.branch_points();
    std::size_t spans = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
        const node& n = g.at(i);
        if (!std::holds_alternative<multiply_spec>(n.spec)) continue;
        ++spans;
        CAPTURE(n.name);
        // The block input is gated by a per-channel value computed from that same input.
        CHECK(n.input_shapes[1] == shape{n.input_shapes[0].c, 1, 1});
        const value_id gated = n.inputs[0];
        for (std::size_t k : points) CHECK_FALSE((static_cast<value_id>(k) > gated + 1 && k <= i));
    }
    return spans;
}

}  // namespace

TEST_CASE("zoo: the edge models' squeeze-and-excitation blocks are never cut by a branch point") {
    // MobileNetV3-Large: stem, 15 bnecks, last conv block, pooling, hidden dense, classifier.
    CHECK(zoo::mobilenet_v3_large.branch_points().size() == 21);
    // MobileNetV3-Small: stem, 11 bnecks, the same head.
    CHECK(zoo::mobilenet_v3_small.branch_points().size() == 17);
    // EfficientNet-B0: stem, 16 MBConv blocks, last conv block, pooling, classifier.
    CHECK(zoo::efficientnet_b0.branch_points().size() == 21);
    // SE blocks: 8 of Large's 15 rows, 9 of Small's 11, every MBConv of B0.
    CHECK(checked_se_spans(zoo::make_graph("mobilenet_v3_large")) == 8);
    CHECK(checked_se_spans(zoo::make_graph("mobilenet_v3_small")) == 9);
    CHECK(checked_se_spans(zoo::make_graph("efficientnet_b0")) == 16);
}

TEST_CASE("zoo: the stem trie shares an edge model's stem up to a branch point, never inside an SE block") {
    graph g = zoo::make_graph("mobilenet_v3_large");
    g.bind_random(5);
    const auto points = g.branch_points();
    stem::stem_trie trie(g.input_shape());
    trie.insert("door", g, points[8]);
    trie.insert("parking", g, points[12]);
    const auto report = trie.report();
    // Both apps run the first 8 elements (stem and 7 bnecks, 3 of them with SE) once.
    std::int64_t shared = 0;
    for (std::size_t i = 0; i < points[8]; ++i) shared += g.at(i).flops();
    CHECK(shared > 0);
    CHECK(report.flops_saved == shared);
    // A stem ending inside a squeeze-and-excitation block (after its pooling) is refused by name.
    const auto multiply = std::find_if(g.nodes().begin(), g.nodes().end(), [](const node& n) {
        return std::holds_alternative<multiply_spec>(n.spec);
    });
    REQUIRE(multiply != g.nodes().end());
    const auto inside = static_cast<std::size_t>(multiply->inputs[0] + 2);
    CHECK_FALSE(g.is_cut_point(inside));
    CHECK_THROWS_WITH_AS(trie.insert("inside", g, inside), doctest::Contains("is not a branch point"), error);
    CHECK(trie.apps().size() == 2);
}

TEST_CASE("zoo: a squeeze-and-excitation block lowers to pool, fc1, act, fc2, gate and a multiply of its input") {
    using namespace stemshare::layers;
    constexpr auto net = input<24, 7, 7> | squeeze_excitation<8>(relu, hard_sigmoid) | global_avg_pool;
    static_assert(net.output_shape() == shape{24, 1, 1});
    static_assert(net.layer_count() == 7);
    static_assert(net.branch_points()[1] == 6);
    // fc1 and fc2 with bias; 2 x MACs of both, plus one FLOP per multiplied element.
    static_assert(net.param_count() == (24 * 8 + 8) + (8 * 24 + 24));
    static_assert(net.flops() == 2 * (24 * 8) * 2 + 24 * 7 * 7);
    const graph g = net.to_graph();
    REQUIRE(g.size() == 7);
    CHECK(std::holds_alternative<global_avg_pool_spec>(g.at(0).spec));
    CHECK(std::get<conv2d_spec>(g.at(1).spec).out_channels == 8);
    CHECK(std::holds_alternative<activation_spec>(g.at(2).spec));
    CHECK(std::get<conv2d_spec>(g.at(3).spec).out_channels == 24);
    CHECK(std::holds_alternative<gate_activation_spec>(g.at(4).spec));
    REQUIRE(std::holds_alternative<multiply_spec>(g.at(5).spec));
    CHECK(g.at(5).inputs == std::vector<value_id>{graph_input, 4});
    CHECK(g.at(5).name == "0.scale");
    // Only the block's two ends are cut points.
    for (std::size_t k = 1; k < 6; ++k) CHECK_FALSE(g.is_cut_point(k));
}

TEST_CASE("zoo: fashion_mobilenet is small enough to fine-tune on a CPU") {
    const auto& m = zoo::find_model("fashion_mobilenet");
    CHECK(m.input == shape{1, 28, 28});
    CHECK(m.params < 300'000);
    CHECK(m.params > 10'000);
    CHECK(zoo::fashion_mobilenet.branch_points().size() >= 6);
}

TEST_CASE("zoo: an unknown model name is an error listing the known names") {
    CHECK_THROWS_WITH_AS(
        (void)zoo::make_graph("mobilenet_v3"),
        doctest::Contains("unknown model 'mobilenet_v3'; known models: mobilenet_v1, mobilenet_v2, "
                          "resnet50, inception_v3, fashion_mobilenet, mobilenet_v3_large, "
                          "mobilenet_v3_small, efficientnet_b0, alexnet, vgg16"),
        error);
    CHECK_THROWS_AS((void)zoo::find_model(""), error);
}

// ---------------------------------------------------------------------------------------------
// Parity: oneDNN against the naive reference backend, seeded random weights, batch 2. The naive
// backend needs minutes at full resolution, so ResNet-50, InceptionV3 and both MobileNets run at
// reduced resolutions (every layer, shape rule and fusion is the same; only H and W shrink):
// MobileNetV1/V2/V3 and EfficientNet-B0 at 96, ResNet-50 at 64, InceptionV3 at 107 (its stem and
// two grid reductions need at least 75). fashion_mobilenet runs at its native 28.
// Tolerance: max |onednn - ref| <= 1e-4 * max |ref| + 1e-5 over all logits (oneDNN accumulates
// in f32 with FMA in a different order, the reference in double; over 50-100 layers the relative
// error stays below ~1e-5), and the top-1 class of every image must agree.

namespace {

void check_model_parity(graph g, std::uint64_t seed) {
    g.bind_random(seed);
    const shape in = g.input_shape();
    constexpr std::int64_t batch = 2;
    tensor<float> x(dims{batch, in.c, in.h, in.w});
    fill_uniform(x.values(), seed + 7, -1.0F, 1.0F);
    const tensor<float> expected = reference::run(g, x.view());
    onednn::compiled_graph compiled(g, {.batch = batch, .threads = 2});
    const tensor<float> actual = compiled.run(x.view());
    REQUIRE(actual.extents() == expected.extents());
    double worst = 0;
    double scale = 0;
    for (std::int64_t i = 0; i < expected.numel(); ++i) {
        worst = std::max(worst, std::abs(static_cast<double>(actual[i]) - expected[i]));
        scale = std::max(scale, std::abs(static_cast<double>(expected[i])));
    }
    INFO("max abs error " << worst << ", max |ref| " << scale);
    CHECK(scale > 0);
    CHECK(worst <= 1e-4 * scale + 1e-5);
    const std::int64_t classes = expected.numel() / batch;
    for (std::int64_t b = 0; b < batch; ++b) {
        const auto argmax = [&](const tensor<float>& t) {
            const float* row = t.data() + b * classes;
            return std::max_element(row, row + classes) - row;
        };
        CHECK(argmax(actual) == argmax(expected));
    }
}

}  // namespace

TEST_CASE("zoo: mobilenet_v1 (at 96) on oneDNN matches the reference backend") {
    check_model_parity(zoo::mobilenet_v1_at<96>.to_graph(), 11);
}
TEST_CASE("zoo: mobilenet_v2 (at 96) on oneDNN matches the reference backend") {
    check_model_parity(zoo::mobilenet_v2_at<96>.to_graph(), 12);
}
TEST_CASE("zoo: resnet50 (at 64) on oneDNN matches the reference backend") {
    check_model_parity(zoo::resnet50_at<64>.to_graph(), 13);
}
TEST_CASE("zoo: inception_v3 (at 107) on oneDNN matches the reference backend") {
    check_model_parity(zoo::inception_v3_at<107>.to_graph(), 14);
}
TEST_CASE("zoo: mobilenet_v3_large (at 96) on oneDNN matches the reference backend") {
    check_model_parity(zoo::mobilenet_v3_large_at<96>.to_graph(), 16);
}
TEST_CASE("zoo: mobilenet_v3_small (at 96) on oneDNN matches the reference backend") {
    check_model_parity(zoo::mobilenet_v3_small_at<96>.to_graph(), 17);
}
TEST_CASE("zoo: efficientnet_b0 (at 96) on oneDNN matches the reference backend") {
    check_model_parity(zoo::efficientnet_b0_at<96>.to_graph(), 18);
}
TEST_CASE("zoo: fashion_mobilenet on oneDNN matches the reference backend") {
    check_model_parity(zoo::fashion_mobilenet.to_graph(), 15);
}
TEST_CASE("zoo: fashion_mobilenet_wide on oneDNN matches the reference backend") {
    check_model_parity(zoo::fashion_mobilenet_wide.to_graph(), 19);
}

namespace {

/// The implementation of a step, from its "what: implementation" line.
std::string implementation(const std::string& step) {
    return step.substr(step.rfind(": ") + 2);
}

/// Whether oneDNN 2.6 names a JIT-generated conv kernel that works on blocked layouts: "jit:..."
/// (AVX2, and AVX-512 for some shapes) or the brgemm-based "brgconv:...", "brgconv_1x1:..." and
/// "brdgmm_dw:..." it picks on AVX-512. Not: "gemm:..." (im2col over plain layouts) and "ref:...".
bool blocked_jit_conv(const std::string& impl) {
    return impl.starts_with("jit") || impl.starts_with("brgconv") || impl.starts_with("brdgmm");
}

/// Every batch-norm folded, every activation fused, reorders only into the first layer and to the
/// output, and an arena far below one buffer per value. The premise: oneDNN runs every conv of the
/// model on a JIT kernel over blocked layouts, which keeps activations in one blocked layout from
/// layer to layer; where a conv falls back to another kernel (the 1-channel first conv of
/// fashion_mobilenet without AVX2 runs on gemm, writing plain NCHW), the layout changes mid-model
/// and costs a reorder and a buffer.
void check_compiled_model(std::string_view name) {
    graph g = zoo::make_graph(name);
    g.bind_random(1);
    const onednn::compiled_graph compiled(g, {.threads = 1});
    const auto steps = compiled.steps();
    const auto not_jit = std::find_if(steps.begin(), steps.end(), [](const std::string& s) {
        return s.starts_with("conv ") && !blocked_jit_conv(implementation(s));
    });
    STEMSHARE_SKIP_IF(not_jit != steps.end(), "on ISA " + onednn::cpu_isa_name() + " oneDNN runs " +
                                                  *not_jit + " (not a blocked JIT kernel), so layouts " +
                                                  "change inside " + std::string(name));
    std::size_t reorders = 0;
    for (const auto& s : steps) {
        CAPTURE(s);
        CHECK(s.rfind("batch_norm", 0) != 0);  // every batch-norm folded
        CHECK(s.rfind("activation", 0) != 0);       // every activation fused
        CHECK(s.rfind("gate activation", 0) != 0);  // hard-swish, SiLU, hard-sigmoid too
        if (s.rfind("reorder", 0) == 0) ++reorders;
    }
    CHECK(reorders <= 2);  // at most into the first layer and to the output
    // The liveness plan must beat one buffer per value by a wide margin.
    CHECK(compiled.arena_bytes() * 3 < compiled.unshared_bytes());
}

}  // namespace

TEST_CASE("zoo: mobilenet_v1 compiled keeps every conv fused and reorders only at the graph's two ends") {
    check_compiled_model("mobilenet_v1");
}
TEST_CASE("zoo: mobilenet_v2 compiled keeps every conv fused and reorders only at the graph's two ends") {
    check_compiled_model("mobilenet_v2");
}
TEST_CASE("zoo: resnet50 compiled keeps every conv fused and reorders only at the graph's two ends") {
    check_compiled_model("resnet50");
}
TEST_CASE("zoo: inception_v3 compiled keeps every conv fused and reorders only at the graph's two ends") {
    check_compiled_model("inception_v3");
}
TEST_CASE(
    "zoo: fashion_mobilenet compiled keeps every conv fused and reorders only at the graph's two ends") {
    check_compiled_model("fashion_mobilenet");
}
TEST_CASE(
    "zoo: mobilenet_v3_large compiled keeps every conv fused and reorders only at the graph's two ends") {
    check_compiled_model("mobilenet_v3_large");
}
TEST_CASE(
    "zoo: mobilenet_v3_small compiled keeps every conv fused and reorders only at the graph's two ends") {
    check_compiled_model("mobilenet_v3_small");
}
TEST_CASE("zoo: efficientnet_b0 compiled keeps every conv fused and reorders only at the graph's two ends") {
    check_compiled_model("efficientnet_b0");
}
TEST_CASE("zoo: no conv with a fused residual add runs gemm or ref where the model's other convs are fast") {
    // ISA-neutral (it needs no model to run on JIT kernels only): oneDNN 2.6 drops a conv
    // + binary add to x64:gemm:jit when the addend arrives in a layout its fast kernel cannot add,
    // which cost ResNet-50 six times its time there before the lowering chose the addend's layout.
    const auto slow = [](const std::string& impl) {
        return impl.starts_with("ref") || impl.find("gemm") != std::string::npos;
    };
    std::size_t residual_steps = 0;
    for (const auto& m : zoo::models) {
        CAPTURE(std::string(m.name));
        graph g = m.make();
        g.bind_random(1);
        const auto steps = onednn::compiled_graph(g, {.threads = 1}).steps();
        const bool fast_convs = std::any_of(steps.begin(), steps.end(), [&](const std::string& s) {
            return s.starts_with("conv ") && s.find("+ add") == std::string::npos && !slow(implementation(s));
        });
        for (const auto& s : steps) {
            if (!s.starts_with("conv ") || s.find("+ add") == std::string::npos) continue;
            ++residual_steps;
            CAPTURE(s);
            if (fast_convs) CHECK_FALSE(slow(implementation(s)));
        }
    }
    CHECK(residual_steps > 40);  // ResNet-50 16, MobileNetV2 10, MobileNetV3s and EfficientNet-B0
}

TEST_CASE("zoo: every model of the zoo has its compiled-model case above") {
    constexpr std::array<std::string_view, 8> covered = {
        "mobilenet_v1",      "mobilenet_v2",       "resnet50",           "inception_v3",
        "fashion_mobilenet", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0"};
    for (const auto& m : zoo::models) {
        CAPTURE(std::string(m.name));
        CHECK(std::find(covered.begin(), covered.end(), m.name) != covered.end());
    }
}

TEST_CASE("zoo: asking for bf16 on a CPU without bf16 kernels is a clear error") {
    STEMSHARE_SKIP_IF(onednn::has_bf16(), "this CPU has bf16 kernels (ISA " + onednn::cpu_isa_name() + ")");
    graph g = zoo::fashion_mobilenet.to_graph();
    g.bind_random(1);
    CHECK_THROWS_WITH_AS(onednn::compiled_graph(g, {.precision = dtype::bf16}),
                         doctest::Contains("bf16 is not supported on this CPU"), error);
}

TEST_CASE("zoo: bf16 mode agrees with f32 on the top-1 class (where the CPU supports bf16)") {
    STEMSHARE_SKIP_IF(!onednn::has_bf16(),
                      "oneDNN has no bf16 kernels on this CPU (ISA " + onednn::cpu_isa_name() + ")");
    graph g = zoo::mobilenet_v2_at<96>.to_graph();
    g.bind_random(21);
    constexpr std::int64_t batch = 16;
    tensor<float> x(dims{batch, 3, 96, 96});
    fill_uniform(x.values(), 22, -1.0F, 1.0F);
    onednn::compiled_graph f32(g, {.batch = batch, .threads = 1});
    onednn::compiled_graph bf16(g, {.batch = batch, .threads = 1, .precision = dtype::bf16});
    const tensor<float> a = f32.run(x.view());
    const tensor<float> b = bf16.run(x.view());
    int agree = 0;
    for (std::int64_t i = 0; i < batch; ++i) {
        const float* ra = a.data() + i * 1000;
        const float* rb = b.data() + i * 1000;
        agree += (std::max_element(ra, ra + 1000) - ra) == (std::max_element(rb, rb + 1000) - rb) ? 1 : 0;
    }
    MESSAGE("bf16 top-1 agreement with f32: " << agree << "/" << batch);
    CHECK(agree >= batch - 1);
}

// Steady-state allocations. oneDNN 2.6's `dnnl_primitive_execute` builds a std::unordered_map of
// the arguments on every call (inside libdnnl, unavoidable through its API), so the test requires
// zero allocations from any caller outside libdnnl during steady-state runs, and reports oneDNN's
// own count. The suite's operator new is replaced by tests/support/allocation_counter.cpp.

TEST_CASE("zoo: a steady-state run allocates nothing outside oneDNN's own execute call") {
    for (const char* name : {"mobilenet_v2", "resnet50", "fashion_mobilenet"}) {
        const std::string model_name = name;
        CAPTURE(model_name);
        graph g = zoo::make_graph(name);
        g.bind_random(3);
        onednn::compiled_graph compiled(g, {.threads = 1});
        const shape in = g.input_shape();
        const shape out = g.output_shape();
        tensor<float> x(dims{1, in.c, in.h, in.w});
        tensor<float> y(dims{1, out.c, out.h, out.w});
        fill_uniform(x.values(), 4);
        compiled.run(x.view(), y.view());  // warm-up: JIT, first touch
        constexpr int frames = 3;
        std::vector<double> timers(compiled.steps().size());
        std::size_t total = 0;
        std::size_t outside = 0;
        std::string where;
        {
            test::allocation_recorder recorder;
            for (int f = 0; f < frames; ++f) compiled.run(x.view(), y.view());
            compiled.run_profiled(x.view(), y.view(), timers);
            total = recorder.count();
            outside = recorder.outside("libdnnl", &where);
        }
        MESSAGE(std::string(name) << ": " << total / (frames + 1)
                                  << " allocations per frame inside libdnnl's execute ("
                                  << compiled.steps().size() << " primitives); outside it: " << outside
                                  << where);
        CHECK(outside == 0);
    }
}
