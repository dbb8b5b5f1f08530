// ShuffleNet's layers: channel shuffle and channel slice on oneDNN against the reference backend
// (alone, after convolutions, inside whole ShuffleNetV2 units), slices as views where the layout
// allows, branch points around the units and fingerprints. Their training is checked in
// tests/train (test_gradients.cpp: finite differences).
// f32 tolerance as in test_parity.cpp: |onednn - ref| <= 1e-5 + 1e-4 * |ref|; graphs that only
// move data must match bit for bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <stemshare/stemshare.hpp>

#include "support/skip.hpp"

using namespace stemshare;

namespace {

struct run_result {
    double worst = 0;
    std::int64_t failures = 0;
    bool bit_identical = true;
    std::vector<std::string> steps;
};

/// Runs g (seeded random weights and input in [-2, 2]) on both backends.
run_result compare(graph g, std::int64_t batch, int threads = 1, std::uint64_t seed = 1) {
    g.bind_random(seed);
    const shape in = g.input_shape();
    tensor<float> x(dims{batch, in.c, in.h, in.w});
    fill_uniform(x.values(), seed + 100, -2.0F, 2.0F);
    const tensor<float> expected = reference::run(g, x.view());
    onednn::compiled_graph compiled(g, {.batch = batch, .threads = threads});
    const tensor<float> actual = compiled.run(x.view());
    run_result r;
    r.steps = compiled.steps();
    REQUIRE(actual.extents() == expected.extents());
    for (std::int64_t i = 0; i < expected.numel(); ++i) {
        const double err = std::abs(static_cast<double>(actual[i]) - expected[i]);
        r.worst = std::max(r.worst, err);
        if (err > 1e-5 + 1e-4 * std::abs(static_cast<double>(expected[i]))) ++r.failures;
    }
    r.bit_identical = std::memcmp(actual.data(), expected.data(), sizeof(float) * expected.numel()) == 0;
    return r;
}

std::string lines(const std::vector<std::string>& steps) {
    std::string s;
    for (const auto& step : steps) s += "\n  " + step;
    return s;
}

bool has_step(const std::vector<std::string>& steps, const std::string& prefix) {
    return std::any_of(steps.begin(), steps.end(),
                       [&](const std::string& s) { return s.starts_with(prefix); });
}

/// A stride-1 ShuffleNetV2 unit written as a run-time graph, as the ONNX importer builds it:
/// split in halves, the right half through 1x1 -> depthwise 3x3 -> 1x1, concat, shuffle.
value_id add_unit(graph& g, value_id x, const std::string& name) {
    const std::int64_t c = g.shape_of(x).c;
    const std::int64_t half = c / 2;
    const auto left = g.add(name + ".left", channel_slice_spec{0, half}, {x});
    const auto right = g.add(name + ".right", channel_slice_spec{half, half}, {x});
    const auto a = g.add(name + ".pw1", conv2d_spec{.out_channels = half}, {right});
    const auto a_relu = g.add(name + ".relu1", activation_spec{activation_kind::relu}, {a});
    const auto d = g.add(
        name + ".dw", conv2d_spec{.out_channels = half, .kernel = 3, .padding = 1, .groups = half}, {a_relu});
    const auto b = g.add(name + ".pw2", conv2d_spec{.out_channels = half}, {d});
    const auto b_relu = g.add(name + ".relu2", activation_spec{activation_kind::relu}, {b});
    const auto cat = g.add(name + ".concat", concat_spec{}, {left, b_relu});
    return g.add(name + ".shuffle", channel_shuffle_spec{2}, {cat});
}

graph two_units(std::int64_t channels, std::int64_t size) {
    graph g({3, size, size});
    const auto stem = g.add("stem", conv2d_spec{.out_channels = channels, .kernel = 3, .padding = 1});
    const auto relu = g.add("stem_relu", activation_spec{activation_kind::relu}, {stem});
    const auto u1 = add_unit(g, relu, "u1");
    add_unit(g, u1, "u2");
    return g;
}

using namespace stemshare::layers;

/// A small ShuffleNetV2 as a compile-time chain: a stride-2 unit (both branches read the whole
/// input) then a stride-1 unit (the left half passes through).
constexpr auto small_shufflenet =
    input<3, 17, 17> | conv2d<{.out_channels = 24, .kernel = 3, .stride = 2, .padding = 1}> | relu  //
    | shuffle_unit<2>(
          depthwise_conv2d<{.kernel = 3, .stride = 2, .padding = 1}> | conv2d<{.out_channels = 24}> | relu,
          conv2d<{.out_channels = 24}> | relu | depthwise_conv2d<{.kernel = 3, .stride = 2, .padding = 1}> |
              conv2d<{.out_channels = 24}> | relu)  //
    | shuffle_unit<2>(channel_slice<{0, 24}>, channel_slice<{24, 24}> | conv2d<{.out_channels = 24}> | relu |
                                                  depthwise_conv2d<{.kernel = 3, .padding = 1}> |
                                                  conv2d<{.out_channels = 24}> | relu)  //
    | global_avg_pool | flatten | dense<{.out_features = 10}>;

static_assert(small_shufflenet.output_shape() == shape{10, 1, 1});
static_assert(small_shufflenet.size() == 7);
// Branch points: 0, after the stem conv and its relu, after each unit (3 + 5 branch layers, or
// 1 + 6, then concat and shuffle), then the head.
static_assert(small_shufflenet.branch_points()[3] == 2 + 10);
static_assert(small_shufflenet.branch_points()[4] == 2 + 10 + 9);

}  // namespace

TEST_CASE("parity: channel shuffle on the graph input and after a conv, groups 1 to C, batch 1 and 3") {
    struct row {
        shape in;
        std::int64_t groups;
    };
    const std::vector<row> table = {{{8, 5, 5}, 2},  {{12, 3, 7}, 3}, {{116, 7, 7}, 2}, {{24, 4, 4}, 4},
                                    {{32, 6, 6}, 8}, {{6, 4, 4}, 1},  {{6, 4, 4}, 6},   {{64, 1, 1}, 4}};
    for (const auto& r : table)
        for (std::int64_t batch : {1, 3}) {
            CAPTURE(to_string(r.in));
            CAPTURE(r.groups);
            CAPTURE(batch);
            graph alone(r.in);
            alone.add("shuffle", channel_shuffle_spec{r.groups});
            const run_result a = compare(alone, batch);
            INFO("steps:" << lines(a.steps));
            CHECK(a.bit_identical);  // data movement only
            graph after_conv(r.in);
            after_conv.add("conv", conv2d_spec{.out_channels = r.in.c, .kernel = 1});
            after_conv.add("shuffle", channel_shuffle_spec{r.groups});
            after_conv.add("conv2", conv2d_spec{.out_channels = 5, .kernel = 1});
            const run_result c = compare(after_conv, batch, 2);
            INFO("steps:" << lines(c.steps));
            CHECK(c.failures == 0);
        }
}

TEST_CASE(
    "parity: channel slices aligned and unaligned to channel blocks, of the graph input, batch 1 and 2") {
    struct row {
        std::int64_t channels;
        std::vector<channel_slice_spec> slices;
    };
    const std::vector<row> table = {
        {64, {{0, 32}, {32, 32}}},         // whole 16- and 8-channel blocks
        {64, {{16, 16}, {48, 16}}},        // whole blocks, not from channel 0
        {58, {{0, 29}, {29, 29}}},         // ShuffleNetV2 x0.5's 58 channels: cuts blocks
        {40, {{3, 20}, {0, 1}, {8, 32}}},  // overlapping, one channel, a block-aligned tail
    };
    for (const auto& r : table)
        for (std::int64_t batch : {1, 2}) {
            CAPTURE(r.channels);
            CAPTURE(batch);
            // After a conv (the layout oneDNN picks), each slice through a conv, then a concat.
            graph g({4, 6, 6});
            const auto x = g.add("conv", conv2d_spec{.out_channels = r.channels, .kernel = 3, .padding = 1});
            std::vector<value_id> outs;
            for (std::size_t k = 0; k < r.slices.size(); ++k) {
                const auto s = g.add("slice" + std::to_string(k), r.slices[k], {x});
                outs.push_back(g.add("conv" + std::to_string(k), conv2d_spec{.out_channels = 8}, {s}));
            }
            outs.push_back(g.add("raw_slice", r.slices[0], {x}));  // a slice straight into the concat
            g.add("concat", concat_spec{}, outs);
            const run_result a = compare(g, batch, 2);
            INFO("steps:" << lines(a.steps));
            CHECK(a.failures == 0);
            // Straight from the graph input: data movement only.
            graph in({r.channels, 5, 3});
            for (std::size_t k = 0; k < r.slices.size(); ++k)
                in.add("s" + std::to_string(k), r.slices[k], {graph_input});
            in.add("concat", concat_spec{}, [&] {
                std::vector<value_id> all;
                for (std::size_t k = 0; k < r.slices.size(); ++k) all.push_back(static_cast<value_id>(k));
                return all;
            }());
            const run_result b = compare(in, batch);
            INFO("steps:" << lines(b.steps));
            CHECK(b.bit_identical);
        }
    graph one({10, 2, 2});
    one.add("slice", channel_slice_spec{4, 3});
    const run_result s = compare(one, 3);
    CHECK(s.bit_identical);
    CHECK_THROWS_WITH_AS(one.add("past", channel_slice_spec{2, 2}),
                         doctest::Contains("begin + count exceeds"), error);
    CHECK_THROWS_WITH_AS(one.add("bad_groups", channel_shuffle_spec{2}),  // 3 channels
                         doctest::Contains("channel_shuffle: input channels are not divisible by groups"),
                         error);
}

TEST_CASE("parity: ShuffleNetV2 units as a chain and as a graph, batch 1 and 2, 1 and 2 threads") {
    const graph chain_graph = small_shufflenet.to_graph();
    const graph units = two_units(48, 9);
    for (std::int64_t batch : {1, 2})
        for (int threads : {1, 2}) {
            CAPTURE(batch);
            CAPTURE(threads);
            const run_result a = compare(chain_graph, batch, threads, 7);
            INFO("chain steps:" << lines(a.steps));
            CHECK(a.failures == 0);
            const run_result b = compare(units, batch, threads, 9);
            INFO("graph steps:" << lines(b.steps));
            CHECK(b.failures == 0);
        }
}

TEST_CASE("onednn: a block-aligned channel slice of a batch-1 activation is a view, not a step") {
    // The premise: a conv here keeps 64 channels in a layout where whole channel blocks are
    // contiguous (nchw, nChw8c, nChw16c). With channels innermost (nhwc, oneDNN 2.6's choice on
    // AVX-512) a slice is a strided range and must be copied: that path is covered by the
    // parity cases above.
    const auto md = onednn::convolution_layout({1, 64, 6, 6}, dnnl::memory::data_type::f32);
    const auto block = md ? onednn::in_place_concat_block(*md) : std::nullopt;
    STEMSHARE_SKIP_IF(!block || *block > 16,
                      "the conv layout of 64 channels has no contiguous channel blocks on ISA " +
                          onednn::cpu_isa_name() + " (" + (md ? onednn::describe(*md) : std::string("none")) +
                          ")");
    graph g({4, 6, 6});
    const auto x = g.add("conv", conv2d_spec{.out_channels = 64, .kernel = 3, .padding = 1});
    const auto a = g.add("aligned", channel_slice_spec{16, 32}, {x});
    const auto b = g.add("cut", channel_slice_spec{3, 20}, {x});
    const auto ca = g.add("conv_a", conv2d_spec{.out_channels = 8}, {a});
    const auto cb = g.add("conv_b", conv2d_spec{.out_channels = 8}, {b});
    g.add("add", add_spec{}, {ca, cb});
    const run_result one = compare(g, 1);
    INFO("steps:" << lines(one.steps));
    CHECK(one.failures == 0);
    CHECK_FALSE(has_step(one.steps, "channel slice 'aligned'"));
    CHECK(has_step(one.steps, "channel slice 'cut'"));
    // Batch 2: one image's channels are not one range, so both slices are copies.
    const run_result two = compare(g, 2);
    CHECK(two.failures == 0);
    CHECK(has_step(two.steps, "channel slice 'aligned'"));
}

TEST_CASE("graph: no branch point inside a ShuffleNetV2 unit, between split and shuffle") {
    // Run-time graph without declared points: the cut points between the concat and the shuffle
    // are real (one value crosses) but are not branch points.
    const graph g = two_units(16, 6);
    const auto points = g.branch_points();
    // stem, stem_relu, then 9 layers per unit.
    CHECK(points == std::vector<std::size_t>{0, 1, 2, 11, 20});
    CHECK(g.is_cut_point(10));  // before u1.shuffle: a cut point, not a branch point
    graph model = g;
    model.bind_random(3);
    CHECK_THROWS_WITH_AS((void)stem::cut(model, 10, "app"), doctest::Contains("not a branch point"), error);
    const stem::cut_model at_unit = stem::cut(model, 11, "app");
    CHECK(at_unit.num_frozen == 11);
    // The chain declares its element boundaries; a unit is one element.
    const graph c = small_shufflenet.to_graph();
    const auto declared = c.branch_points();
    constexpr auto expected = small_shufflenet.branch_points();
    CHECK(declared == std::vector<std::size_t>(expected.begin(), expected.end()));
    for (std::size_t i = 0; i < c.size(); ++i)
        if (std::holds_alternative<channel_shuffle_spec>(c.at(i).spec))
            CHECK(std::find(declared.begin(), declared.end(), i) == declared.end());
}

TEST_CASE("stem: fingerprints tell shuffle groups and slice ranges apart") {
    const auto print = [](layer_spec spec) {
        graph g({8, 4, 4});
        g.add("layer", spec);
        return stem::fingerprint_of(g, stem::root_fingerprint(g.input_shape()));
    };
    CHECK(print(channel_shuffle_spec{2}) == print(channel_shuffle_spec{2}));
    CHECK(print(channel_shuffle_spec{2}) != print(channel_shuffle_spec{4}));
    CHECK(print(channel_slice_spec{0, 4}) == print(channel_slice_spec{0, 4}));
    CHECK(print(channel_slice_spec{0, 4}) != print(channel_slice_spec{4, 4}));
    CHECK(print(channel_slice_spec{0, 4}) != print(channel_slice_spec{0, 2}));
    CHECK(describe(channel_shuffle_spec{3}) == "channel_shuffle(g=3)");
    CHECK(describe(channel_slice_spec{2, 5}) == "channel_slice(begin=2,count=5)");
}
