// ONNX import: parity with PyTorch on the exported fixtures, binding chains to ONNX initializers,
// and models written here with the protobuf API for the cases PyTorch does not emit.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <stemshare/io/bind_weights.hpp>
#include <stemshare/io/npy.hpp>
#include <stemshare/io/onnx_import.hpp>
#include <stemshare/io/safetensors.hpp>

#include "io_test_support.hpp"

using namespace stemshare;
using io_test::error_of;
using io_test::fixture;
using io_test::scratch_dir;

namespace {

std::size_t count_kind(const graph& g, std::string_view kind) {
    return static_cast<std::size_t>(std::count_if(g.nodes().begin(), g.nodes().end(),
                                                  [&](const node& n) { return kind_name(n.spec) == kind; }));
}

struct parity {
    float reference = 0;
    float onednn = 0;
    float scale = 0;
    float tolerance = 0;
};

parity onnx_parity(const std::string& name) {
    const graph g = io::load_onnx(fixture(name + ".onnx"));
    const tensor<float> x = io::load_npy(fixture(name + ".input.npy"));
    const tensor<float> expected = io::load_npy(fixture(name + ".output.npy"));
    onednn::compiled_graph compiled(g, {.batch = x.extents()[0], .threads = 1});
    return {io_test::max_abs_diff(reference::run(g, x.view()), expected),
            io_test::max_abs_diff(compiled.run(x.view()), expected), io_test::max_abs(expected),
            io_test::parity_tolerance(expected)};
}

/// Builds small ONNX models with the protobuf API.
class model_builder {
public:
    explicit model_builder(const std::vector<std::int64_t>& input_dims, std::int64_t opset = 13) {
        model_.set_ir_version(7);
        auto* op = model_.add_opset_import();
        op->set_domain("");
        op->set_version(opset);
        graph_ = model_.mutable_graph();
        graph_->set_name("test");
        auto* in = graph_->add_input();
        in->set_name("x");
        auto* tt = in->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(onnx::TensorProto_DataType_FLOAT);
        for (auto d : input_dims) {
            auto* dim = tt->mutable_shape()->add_dim();
            if (d < 0)
                dim->set_dim_param("N");
            else
                dim->set_dim_value(d);
        }
    }
    /// An f32 initializer, in raw_data or in float_data.
    onnx::TensorProto* initializer(const std::string& name, const std::vector<std::int64_t>& dims,
                                   const std::vector<float>& values, bool raw = true) {
        auto* t = graph_->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto_DataType_FLOAT);
        for (auto d : dims) t->add_dims(d);
        if (raw)
            t->set_raw_data(
                std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
        else
            for (float v : values) t->add_float_data(v);
        return t;
    }
    /// An int64 initializer (Pad's pads, Reshape's shape).
    onnx::TensorProto* int_initializer(const std::string& name, const std::vector<std::int64_t>& dims,
                                       const std::vector<std::int64_t>& values) {
        auto* t = graph_->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto_DataType_INT64);
        for (auto d : dims) t->add_dims(d);
        for (auto v : values) t->add_int64_data(v);
        return t;
    }
    onnx::NodeProto* node(const std::string& op, const std::string& name,
                          const std::vector<std::string>& inputs, const std::string& output) {
        auto* n = graph_->add_node();
        n->set_op_type(op);
        n->set_name(name);
        for (const auto& i : inputs) n->add_input(i);
        n->add_output(output);
        return n;
    }
    static void ints(onnx::NodeProto* n, const std::string& name, const std::vector<std::int64_t>& values) {
        auto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto_AttributeType_INTS);
        for (auto v : values) a->add_ints(v);
    }
    static void integer(onnx::NodeProto* n, const std::string& name, std::int64_t value) {
        auto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto_AttributeType_INT);
        a->set_i(value);
    }
    static void text(onnx::NodeProto* n, const std::string& name, const std::string& value) {
        auto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto_AttributeType_STRING);
        a->set_s(value);
    }
    static void real(onnx::NodeProto* n, const std::string& name, float value) {
        auto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto_AttributeType_FLOAT);
        a->set_f(value);
    }
    void output(const std::string& name) { graph_->add_output()->set_name(name); }
    void save(const std::filesystem::path& p) const {
        std::ofstream out(p, std::ios::binary);
        model_.SerializeToOstream(&out);
    }
    [[nodiscard]] graph import() const { return io::import_onnx(model_, ".", "test-model"); }
    [[nodiscard]] std::string import_error() const {
        return error_of([&] { (void)io::import_onnx(model_, ".", "test-model"); });
    }

private:
    onnx::ModelProto model_;
    onnx::GraphProto* graph_ = nullptr;
};

/// 3x3 box filter (all-ones kernel) on a 1x1x4x4 input, with the pads given.
model_builder box_conv(const std::vector<std::int64_t>& pads, bool raw_weights) {
    model_builder b({1, 1, 4, 4});
    b.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0F), raw_weights);
    auto* conv = b.node("Conv", "box", {"x", "w"}, "y");
    model_builder::ints(conv, "pads", pads);
    model_builder::ints(conv, "kernel_shape", {3, 3});
    b.output("y");
    return b;
}

tensor<float> iota_image(std::int64_t h, std::int64_t w) {
    tensor<float> x(dims{1, 1, h, w});
    for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(i + 1);
    return x;
}

}  // namespace

// ---- parity with PyTorch on the exported fixtures --------------------------------------------------

TEST_CASE(
    "onnx: edge blocks (hard-swish, SiLU, squeeze-and-excitation, single Concat, ReduceMean) match PyTorch") {
    const graph g = io::load_onnx(fixture("edge_blocks.onnx"));
    // Opset 13: hard-swish is Mul(x, HardSigmoid(x)) and SiLU is Mul(x, Sigmoid(x)).
    CHECK(count_kind(g, "gate_activation") == 3);
    CHECK(count_kind(g, "multiply") == 7);         // 2 hard-swish, 3 SiLU, 2 SE gates
    CHECK(count_kind(g, "concat") == 0);           // a one-input Concat is its input
    CHECK(count_kind(g, "global_avg_pool") == 3);  // two ReduceMean and one GlobalAveragePool
    CHECK(g.output_shape() == shape{10, 1, 1});
    // No stem ends inside a multiply's span (a squeeze-and-excitation block, a SiLU): cutting there
    // would leave the suffix two inputs.
    const auto points = g.branch_points();
    std::size_t spans = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
        if (!std::holds_alternative<multiply_spec>(g.at(i).spec)) continue;
        ++spans;
        const value_id first = std::min(g.at(i).inputs[0], g.at(i).inputs[1]);
        for (std::size_t k : points) CHECK_FALSE((static_cast<value_id>(k) > first + 1 && k <= i));
    }
    CHECK(spans == 7);
    const parity p = onnx_parity("edge_blocks");
    MESSAGE("edge_blocks ONNX path: max abs error reference " << p.reference << ", oneDNN " << p.onednn
                                                              << " (max |y| " << p.scale << ", tolerance "
                                                              << p.tolerance << ")");
    CHECK(p.reference <= p.tolerance);
    CHECK(p.onednn <= p.tolerance);
}

TEST_CASE("onnx: torchvision DenseNet (growth 8, blocks 2-2) matches PyTorch") {
    const graph g = io::load_onnx(fixture("densenet_small.onnx"));
    CHECK(count_kind(g, "concat") == 4);      // the one-input Concat of each block's first layer is its input
    CHECK(count_kind(g, "batch_norm") == 6);  // after Concats: nothing to fold them into
    CHECK(count_kind(g, "pool2d") == 2);      // the stem's max pool; the transition's all-zero Pad is nothing
    CHECK(g.output_shape() == shape{10, 1, 1});
    const parity p = onnx_parity("densenet_small");
    MESSAGE("densenet_small ONNX path: max abs error reference " << p.reference << ", oneDNN " << p.onednn
                                                                 << " (max |y| " << p.scale << ", tolerance "
                                                                 << p.tolerance << ")");
    CHECK(p.reference <= p.tolerance);
    CHECK(p.onednn <= p.tolerance);
}

TEST_CASE("onnx: torchvision MnasNet (depth 0.25) matches PyTorch") {
    const graph g = io::load_onnx(fixture("mnasnet_small.onnx"));
    CHECK(count_kind(g, "conv2d") == 52);
    CHECK(count_kind(g, "add") == 11);
    CHECK(count_kind(g, "global_avg_pool") == 1);  // the ReduceMean head
    CHECK(g.output_shape() == shape{10, 1, 1});
    const parity p = onnx_parity("mnasnet_small");
    MESSAGE("mnasnet_small ONNX path: max abs error reference " << p.reference << ", oneDNN " << p.onednn
                                                                << " (max |y| " << p.scale << ", tolerance "
                                                                << p.tolerance << ")");
    CHECK(p.reference <= p.tolerance);
    CHECK(p.onednn <= p.tolerance);
}

TEST_CASE(
    "onnx: dilated convs and zero Pads folded into a conv, a max pool and an average pool match PyTorch") {
    const graph g = io::load_onnx(fixture("dilated_pad.onnx"));
    std::vector<extent2> dilations;
    for (const node& n : g.nodes())
        if (const auto* c = std::get_if<conv2d_spec>(&n.spec); c && c->dilation != extent2{1})
            dilations.push_back(c->dilation);
    CHECK(dilations == std::vector<extent2>{extent2{2}, extent2{3}, extent2{2, 1}});
    // F.pad(x, (1, 1, 2, 0)) went into the (2, 1)-dilated conv, F.pad(relu, (0, 1, 0, 1)) into the
    // max pool, AvgPool2d(3, 2, padding=1)'s Pad into the average pool, counted.
    std::vector<padding4> pool_pads;
    for (const node& n : g.nodes()) {
        if (const auto* c = std::get_if<conv2d_spec>(&n.spec); c && c->dilation == extent2{2, 1})
            CHECK(c->padding == padding4(2, 1, 0, 1));
        if (const auto* pool = std::get_if<pool2d_spec>(&n.spec)) {
            pool_pads.push_back(pool->padding);
            if (pool->kind == pool_kind::avg) CHECK(pool->count_include_pad);
        }
    }
    CHECK(pool_pads == std::vector<padding4>{padding4(0, 0, 1, 1), padding4(1)});
    const parity p = onnx_parity("dilated_pad");
    MESSAGE("dilated_pad ONNX path: max abs error reference " << p.reference << ", oneDNN " << p.onednn
                                                              << " (max |y| " << p.scale << ", tolerance "
                                                              << p.tolerance << ")");
    CHECK(p.reference <= p.tolerance);
    CHECK(p.onednn <= p.tolerance);
}

TEST_CASE("onnx: HardSigmoid attributes, HardSwish and ReduceMax import as their layers") {
    model_builder b({1, 2, 3, 3}, 14);
    model_builder::real(b.node("HardSigmoid", "hs", {"x"}, "a"), "alpha", 0.25F);
    b.node("HardSwish", "hw", {"a"}, "h");
    auto* r = b.node("ReduceMax", "max", {"h"}, "y");
    model_builder::ints(r, "axes", {-1, -2});
    model_builder::integer(r, "keepdims", 0);
    b.output("y");
    const graph g = b.import();
    REQUIRE(g.size() == 3);
    CHECK(std::get<gate_activation_spec>(g.at(0).spec) ==
          gate_activation_spec{.kind = gate_kind::hard_sigmoid, .alpha = 0.25F, .beta = 0.5F});
    CHECK(std::get<gate_activation_spec>(g.at(1).spec).kind == gate_kind::hard_swish);
    CHECK(std::get<pool2d_spec>(g.at(2).spec) ==
          pool2d_spec{.kind = pool_kind::max, .kernel = extent2{3, 3}, .stride = 1});
    CHECK(g.output_shape() == shape{2, 1, 1});
}

TEST_CASE("onnx: MobileNetV2 64x64 (batch-norms folded by the exporter) matches PyTorch") {
    const graph g = io::load_onnx(fixture("mobilenet_v2_64.onnx"));
    CHECK(count_kind(g, "conv2d") == 52);
    CHECK(count_kind(g, "add") == 11);
    CHECK(count_kind(g, "batch_norm") == 0);
    CHECK(g.output_shape() == shape{10, 1, 1});
    const parity p = onnx_parity("mobilenet_v2_64");
    MESSAGE("mobilenet_v2_64 ONNX path: max abs error reference " << p.reference << ", oneDNN " << p.onednn
                                                                  << " (max |y| " << p.scale << ", tolerance "
                                                                  << p.tolerance << ")");
    CHECK(p.reference <= p.tolerance);
    CHECK(p.onednn <= p.tolerance);
}

TEST_CASE(
    "onnx: ResNet block stack (BatchNormalization, pools, concat, shape folding, MatMul+Add) matches "
    "PyTorch") {
    const graph g = io::load_onnx(fixture("resnet_stack.onnx"));
    CHECK(count_kind(g, "batch_norm") == 6);
    CHECK(count_kind(g, "add") == 2);  // the head's bias Add is folded into the dense layer
    CHECK(count_kind(g, "concat") == 1);
    CHECK(count_kind(g, "flatten") == 1);  // Shape/Gather/Unsqueeze/Concat/Reshape folded to one flatten
    REQUIRE(count_kind(g, "pool2d") == 2);
    const auto avg = std::find_if(g.nodes().begin(), g.nodes().end(), [](const node& n) {
        return std::holds_alternative<pool2d_spec>(n.spec) &&
               std::get<pool2d_spec>(n.spec).kind == pool_kind::avg;
    });
    REQUIRE(avg != g.nodes().end());
    CHECK(!std::get<pool2d_spec>(avg->spec).count_include_pad);
    CHECK(std::get<dense_spec>(g.nodes().back().spec).bias);
    const parity p = onnx_parity("resnet_stack");
    MESSAGE("resnet_stack ONNX path: max abs error reference " << p.reference << ", oneDNN " << p.onednn
                                                               << " (max |y| " << p.scale << ", tolerance "
                                                               << p.tolerance << ")");
    CHECK(p.reference <= p.tolerance);
    CHECK(p.onednn <= p.tolerance);
}

TEST_CASE("onnx: the 28x28 net (Clip as relu6, Gemm, Softmax) matches PyTorch") {
    const graph g = io::load_onnx(fixture("net28.onnx"));
    CHECK(count_kind(g, "activation") == 5);
    CHECK(std::get<activation_spec>(g.at(2).spec).kind == activation_kind::relu6);
    CHECK(count_kind(g, "softmax") == 1);
    const parity p = onnx_parity("net28");
    MESSAGE("net28 ONNX path: max abs error reference " << p.reference << ", oneDNN " << p.onednn
                                                        << " (tolerance " << p.tolerance << ")");
    CHECK(p.reference <= p.tolerance);
    CHECK(p.onednn <= p.tolerance);
}

TEST_CASE(
    "onnx: ShuffleNetV2 (torchvision, Reshape/Transpose/Reshape shuffles, Slice splits) matches PyTorch") {
    const graph g = io::load_onnx(fixture("shufflenet_v2_small.onnx"));
    CHECK(count_kind(g, "channel_shuffle") == 6);  // one per unit, 3 stages of 2
    CHECK(count_kind(g, "channel_slice") == 6);    // both halves of the 3 stride-1 units
    CHECK(count_kind(g, "concat") == 6);
    CHECK(g.output_shape() == shape{10, 1, 1});
    // No stem ends inside a unit: between its split and its shuffle there is no branch point,
    // and right after every shuffle there is one.
    const auto points = g.branch_points();
    for (std::size_t i = 0; i < g.size(); ++i) {
        if (!std::holds_alternative<channel_shuffle_spec>(g.at(i).spec)) continue;
        CHECK(std::find(points.begin(), points.end(), i + 1) != points.end());
        CHECK(std::find(points.begin(), points.end(), i) == points.end());
    }
    for (std::size_t i = 0; i < g.size(); ++i) {
        if (!std::holds_alternative<channel_slice_spec>(g.at(i).spec)) continue;
        CHECK(std::find(points.begin(), points.end(), i + 1) == points.end());  // between the halves
    }
    const parity p = onnx_parity("shufflenet_v2_small");
    MESSAGE("shufflenet_v2_small ONNX path: max abs error reference "
            << p.reference << ", oneDNN " << p.onednn << " (max |y| " << p.scale << ", tolerance "
            << p.tolerance << ")");
    CHECK(p.reference <= p.tolerance);
    CHECK(p.onednn <= p.tolerance);
}

namespace {

/// The convs of `g` with groups > 1, as (groups, kernel, stride, dilation) in graph order.
struct grouped_conv {
    std::int64_t groups;
    extent2 kernel;
    extent2 stride;
    extent2 dilation;
    friend bool operator==(const grouped_conv&, const grouped_conv&) = default;
};
std::vector<grouped_conv> grouped_convs(const graph& g) {
    std::vector<grouped_conv> convs;
    for (const node& n : g.nodes())
        if (const auto* c = std::get_if<conv2d_spec>(&n.spec); c && c->groups > 1)
            convs.push_back({c->groups, c->kernel, c->stride, c->dilation});
    return convs;
}

std::size_t count_gate(const graph& g, gate_kind kind) {
    return static_cast<std::size_t>(std::count_if(g.nodes().begin(), g.nodes().end(), [&](const node& n) {
        const auto* a = std::get_if<gate_activation_spec>(&n.spec);
        return a && a->kind == kind;
    }));
}

/// The ONNX path of fixture `name` on both backends against PyTorch's output, at the tolerance
/// of the other fixture tests (1e-5 scaled to max |y|).
void check_onnx_parity(const std::string& name) {
    const parity p = onnx_parity(name);
    MESSAGE(name << " ONNX path: max abs error reference " << p.reference << ", oneDNN " << p.onednn
                 << " (max |y| " << p.scale << ", tolerance " << p.tolerance << ")");
    CHECK(p.reference <= p.tolerance);
    CHECK(p.onednn <= p.tolerance);
}

}  // namespace

// MobileNetV3-Small at width 0.25: 11 inverted residuals, 9 with squeeze-and-excitation
// (GlobalAveragePool squeeze, HardSigmoid gate); hard-swish in the stem, in 8 blocks (expand and
// depthwise), in the last conv and in the classifier's hidden layer: 19 hard-swishes.
TEST_CASE("onnx: torchvision MobileNetV3-Small at opset 11 matches PyTorch") {
    const graph g = io::load_onnx(fixture("mobilenet_v3_small_op11.onnx"));
    // Below opset 14 hard-swish is Mul(x, HardSigmoid(x)).
    CHECK(count_gate(g, gate_kind::hard_sigmoid) == 28);  // 19 hard-swishes and 9 SE gates
    CHECK(count_gate(g, gate_kind::hard_swish) == 0);
    CHECK(count_kind(g, "multiply") == 28);
    CHECK(count_kind(g, "global_avg_pool") == 10);  // 9 SE squeezes and the head
    CHECK(count_kind(g, "add") == 7);
    CHECK(grouped_convs(g).size() == 11);  // one depthwise conv per block
    CHECK(g.output_shape() == shape{10, 1, 1});
    check_onnx_parity("mobilenet_v3_small_op11");
}

TEST_CASE("onnx: torchvision MobileNetV3-Small at opset 17 matches PyTorch") {
    const graph g = io::load_onnx(fixture("mobilenet_v3_small_op17.onnx"));
    // From opset 14 hard-swish is one HardSwish node; the SE gates stay HardSigmoid + Mul.
    CHECK(count_gate(g, gate_kind::hard_swish) == 19);
    CHECK(count_gate(g, gate_kind::hard_sigmoid) == 9);
    CHECK(count_kind(g, "multiply") == 9);
    CHECK(count_kind(g, "global_avg_pool") == 10);
    CHECK(grouped_convs(g) == grouped_convs(io::load_onnx(fixture("mobilenet_v3_small_op11.onnx"))));
    CHECK(g.output_shape() == shape{10, 1, 1});
    check_onnx_parity("mobilenet_v3_small_op17");
}

TEST_CASE("onnx: torchvision MobileNetV3-Large with dilated=True (dilated depthwise convs) matches PyTorch") {
    const graph g = io::load_onnx(fixture("mobilenet_v3_large_dilated.onnx"));
    // dilated=True keeps the last stage at stride 1 and dilates its three 5x5 depthwise convs by 2.
    std::vector<padding4> dilated_pads;
    for (const node& n : g.nodes())
        if (const auto* c = std::get_if<conv2d_spec>(&n.spec); c && c->dilation != extent2{1}) {
            CHECK(c->dilation == extent2{2});
            CHECK(c->kernel == extent2{5});
            CHECK(c->stride == extent2{1});
            CHECK(c->groups > 1);
            dilated_pads.push_back(c->padding);
        }
    CHECK(dilated_pads == std::vector<padding4>(3, padding4(4)));
    CHECK(grouped_convs(g).size() == 15);
    CHECK(count_kind(g, "multiply") == 29);  // 21 hard-swishes as HardSigmoid + Mul, 8 SE gates
    CHECK(g.output_shape() == shape{10, 1, 1});
    check_onnx_parity("mobilenet_v3_large_dilated");
}

TEST_CASE("onnx: torchvision EfficientNet (B0 layout, width 0.25, depth 0.3) at opset 17 matches PyTorch") {
    const graph g = io::load_onnx(fixture("efficientnet_small.onnx"));
    // SiLU is Mul(x, Sigmoid(x)) at every opset the exporter writes; each MBConv has an SE with a
    // GlobalAveragePool squeeze and a Sigmoid gate. Stochastic depth is the identity in eval.
    CHECK(count_kind(g, "multiply") == 33);  // 25 SiLUs and 8 SE gates
    CHECK(count_kind(g, "activation") == 33);
    CHECK(count_kind(g, "global_avg_pool") == 9);  // 8 SE squeezes and the head
    CHECK(count_kind(g, "add") == 2);
    CHECK(grouped_convs(g).size() == 8);
    CHECK(g.output_shape() == shape{10, 1, 1});
    check_onnx_parity("efficientnet_small");
}

TEST_CASE("onnx: torchvision RegNetY (grouped convs, squeeze-and-excitation) matches PyTorch") {
    const graph g = io::load_onnx(fixture("regnet_y_small.onnx"));
    // Group width 8 on 16 and 32 channels: 2 and 4 groups; the first block of each stage strides.
    const std::vector<grouped_conv> expected{{2, 3, 2, 1}, {4, 3, 2, 1}, {4, 3, 1, 1}, {4, 3, 1, 1}};
    CHECK(grouped_convs(g) == expected);
    CHECK(count_kind(g, "multiply") == 4);         // one SE gate per block
    CHECK(count_kind(g, "global_avg_pool") == 5);  // 4 SE squeezes and the head
    CHECK(count_kind(g, "add") == 4);
    CHECK(g.output_shape() == shape{10, 1, 1});
    check_onnx_parity("regnet_y_small");
}

TEST_CASE("onnx: torchvision RegNetX (grouped convs) at opset 11 with a dynamic batch matches PyTorch") {
    const graph g = io::load_onnx(fixture("regnet_x_small.onnx"));
    CHECK(grouped_convs(g) == grouped_convs(io::load_onnx(fixture("regnet_y_small.onnx"))));
    CHECK(count_kind(g, "multiply") == 0);
    CHECK(count_kind(g, "global_avg_pool") == 1);
    CHECK(count_kind(g, "add") == 4);
    CHECK(g.output_shape() == shape{10, 1, 1});
    check_onnx_parity("regnet_x_small");
}

namespace {

/// x [1, 8, 3, 3] -> channel shuffle over 2 groups (constant shapes) -> Split into 3 + 5 (sizes
/// as an attribute before opset 13, as an input since) -> Slice [1:] of the second part ->
/// Concat of the first part and the slice.
model_builder shuffle_split_slice(std::int64_t opset) {
    model_builder b({1, 8, 3, 3}, opset);
    const auto constant = [&](const std::string& name, const std::vector<std::int64_t>& values) {
        model_builder::ints(b.node("Constant", name, {}, name), "value_ints", values);
    };
    constant("grouped_shape", {1, 2, 4, 3, 3});
    constant("back_shape", {1, -1, 3, 3});
    b.node("Reshape", "group", {"x", "grouped_shape"}, "g");
    model_builder::ints(b.node("Transpose", "transpose", {"g"}, "t"), "perm", {0, 2, 1, 3, 4});
    b.node("Reshape", "ungroup", {"t", "back_shape"}, "shuffled");
    onnx::NodeProto* split = nullptr;
    if (opset < 13) {
        split = b.node("Split", "split", {"shuffled"}, "s0");
        model_builder::ints(split, "split", {3, 5});
    } else {
        constant("sizes", {3, 5});
        split = b.node("Split", "split", {"shuffled", "sizes"}, "s0");
    }
    split->add_output("s1");
    model_builder::integer(split, "axis", 1);
    constant("starts", {1});
    constant("ends", {std::numeric_limits<std::int64_t>::max()});
    constant("axes", {1});
    b.node("Slice", "tail", {"s1", "starts", "ends", "axes"}, "tail");
    model_builder::integer(b.node("Concat", "join", {"s0", "tail"}, "y"), "axis", 1);
    b.output("y");
    return b;
}

}  // namespace

TEST_CASE(
    "onnx: a channel shuffle with constant shapes, Split sizes as attribute or input, Slice to INT64_MAX") {
    for (const std::int64_t opset : {11, 13, 17}) {
        CAPTURE(opset);
        const graph g = shuffle_split_slice(opset).import();
        REQUIRE(g.size() == 5);
        CHECK(std::get<channel_shuffle_spec>(g.at(0).spec) == channel_shuffle_spec{2});
        CHECK(std::get<channel_slice_spec>(g.at(1).spec) == channel_slice_spec{0, 3});
        CHECK(std::get<channel_slice_spec>(g.at(2).spec) == channel_slice_spec{3, 5});
        CHECK(std::get<channel_slice_spec>(g.at(3).spec) == channel_slice_spec{1, 4});
        // Channel k of the input holds 100 * k + pixel: the output's channels name their source.
        tensor<float> x(dims{1, 8, 3, 3});
        for (std::int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(100 * (i / 9) + i % 9);
        const std::vector<std::int64_t> source{0, 4, 1, 2, 6, 3, 7};  // shuffled [0 4 1 5 2 6 3 7]
        onednn::compiled_graph compiled(g, {.batch = 1, .threads = 1});
        for (const tensor<float>& y : {reference::run(g, x.view()), compiled.run(x.view())}) {
            REQUIRE(y.extents() == dims{1, 7, 3, 3});
            for (std::int64_t i = 0; i < y.numel(); ++i)
                CHECK(y[i] == static_cast<float>(100 * source[static_cast<std::size_t>(i / 9)] + i % 9));
        }
    }
}

TEST_CASE(
    "onnx: Reshape, Transpose, Split and Slice other than channel shuffles and splits are refused by name") {
    const auto refused = [](const std::function<void(model_builder&)>& build, std::int64_t opset = 13) {
        model_builder b({1, 8, 3, 3}, opset);
        build(b);
        return b.import_error();
    };
    const auto constant = [](model_builder& b, const std::string& name,
                             const std::vector<std::int64_t>& values) {
        model_builder::ints(b.node("Constant", name, {}, name), "value_ints", values);
    };
    const auto grouped = [&](model_builder& b, const std::vector<std::int64_t>& shape5) {
        constant(b, "shape5", shape5);
        b.node("Reshape", "group", {"x", "shape5"}, "g");
    };
    std::string e = refused([&](model_builder& b) {
        model_builder::ints(b.node("Transpose", "nhwc", {"x"}, "y"), "perm", {0, 2, 3, 1});
        b.output("y");
    });
    CHECK(e.find("node 'nhwc'") != std::string::npos);
    CHECK(e.find("Transpose of [N, 8, 3, 3] with perm [0, 2, 3, 1] is not supported") != std::string::npos);

    e = refused([&](model_builder& b) {
        grouped(b, {1, 2, 4, 9, 1});
        b.output("g");
    });
    CHECK(e.find("node 'group'") != std::string::npos);
    CHECK(e.find("a 5-D Reshape only as the first step of a channel shuffle") != std::string::npos);

    e = refused([&](model_builder& b) {
        grouped(b, {1, 2, 4, 3, 3});
        model_builder::ints(b.node("Transpose", "swap_hw", {"g"}, "t"), "perm", {0, 1, 2, 4, 3});
        b.output("t");
    });
    CHECK(e.find("node 'swap_hw'") != std::string::npos);
    CHECK(e.find("with perm [0, 1, 2, 4, 3] is not supported") != std::string::npos);

    e = refused([&](model_builder& b) {
        grouped(b, {1, 2, 4, 3, 3});
        b.node("Relu", "relu5d", {"g"}, "y");
        b.output("y");
    });
    CHECK(e.find("node 'relu5d'") != std::string::npos);
    CHECK(e.find("input 'g' is [N, 2, 4, 3, 3], part of a channel shuffle") != std::string::npos);

    e = refused([&](model_builder& b) {
        b.node("Relu", "relu", {"x"}, "r");
        grouped(b, {1, 2, 4, 3, 3});
        b.output("g");
    });
    CHECK(e.find("is not the result of the last layer") != std::string::npos);

    e = refused([&](model_builder& b) {
        grouped(b, {1, 2, 4, 3, 3});
        constant(b, "back", {1, 8, 3, 3});
        b.node("Reshape", "ungroup", {"g", "back"}, "y");
        b.output("y");
    });
    CHECK(e.find("node 'ungroup'") != std::string::npos);
    CHECK(e.find("without the Transpose before it is not a channel shuffle") != std::string::npos);

    e = refused([&](model_builder& b) {
        grouped(b, {1, 2, 4, 3, 3});
        model_builder::ints(b.node("Transpose", "transpose", {"g"}, "t"), "perm", {0, 2, 1, 3, 4});
        constant(b, "flat", {1, -1});
        b.node("Reshape", "flatten", {"t", "flat"}, "y");
        b.output("y");
    });
    CHECK(e.find("node 'flatten'") != std::string::npos);
    CHECK(e.find("does not end a channel shuffle") != std::string::npos);

    e = refused(
        [&](model_builder& b) {
            auto* s = b.node("Split", "rows", {"x"}, "a");
            s->add_output("b");
            model_builder::integer(s, "axis", 2);
            model_builder::ints(s, "split", {1, 2});
            b.output("a");
        },
        11);
    CHECK(e.find("node 'rows'") != std::string::npos);
    CHECK(e.find("Split along axis 2 is not supported") != std::string::npos);

    e = refused([&](model_builder& b) {
        constant(b, "sizes", {3, 4});
        auto* s = b.node("Split", "bad_sizes", {"x", "sizes"}, "a");
        s->add_output("b");
        model_builder::integer(s, "axis", 1);
        b.output("a");
    });
    CHECK(e.find("split sizes sum to 7 but the input has 8 channels") != std::string::npos);

    e = refused([&](model_builder& b) {
        auto* s = b.node("Split", "thirds", {"x"}, "a");
        s->add_output("b");
        s->add_output("c");
        model_builder::integer(s, "axis", 1);
        b.output("a");
    });
    CHECK(e.find("Split of 8 channels into 3 equal parts") != std::string::npos);

    e = refused([&](model_builder& b) {
        constant(b, "starts", {1});
        constant(b, "ends", {2});
        constant(b, "axes", {2});
        b.node("Slice", "crop", {"x", "starts", "ends", "axes"}, "y");
        b.output("y");
    });
    CHECK(e.find("node 'crop'") != std::string::npos);
    CHECK(e.find("Slice along axis 2 of [N, 8, 3, 3] is not supported") != std::string::npos);

    e = refused([&](model_builder& b) {
        constant(b, "starts", {0});
        constant(b, "ends", {8});
        constant(b, "axes", {1});
        constant(b, "steps", {2});
        b.node("Slice", "every_other", {"x", "starts", "ends", "axes", "steps"}, "y");
        b.output("y");
    });
    CHECK(e.find("Slice with step 2 is not supported") != std::string::npos);

    e = refused([&](model_builder& b) {
        constant(b, "starts", {5});
        constant(b, "ends", {2});
        constant(b, "axes", {1});
        b.node("Slice", "empty", {"x", "starts", "ends", "axes"}, "y");
        b.output("y");
    });
    CHECK(e.find("node 'empty'") != std::string::npos);
    CHECK(e.find("count must be positive") != std::string::npos);
}

TEST_CASE("onnx: a chain binds by name to the initializers of an ONNX file") {
    graph from_onnx = io_test::resnet_stack.to_graph();
    const io::onnx_weights w(fixture("resnet_stack.onnx"));
    // The exporter renamed the MatMul weight (it folded the transpose), so the head comes by a rule.
    auto rename = [&](std::string_view layer, std::string_view param) {
        const auto modules = io_test::resnet_stack_modules();
        const std::string module = modules.at(std::string(layer));
        if (module == "head" && param == "weight") {
            for (const auto& n : w.names())
                if (n.starts_with("onnx::MatMul")) return n;
        }
        return module + "." + std::string(param);
    };
    const std::string e = error_of([&] { io::bind_weights(from_onnx, w, {.rename = rename}); });
    // The head weight in ONNX is the transposed {64, 10} MatMul operand, which the shape check catches.
    CHECK(e.find("parameter 'weight' needs dims {10, 64}") != std::string::npos);
    CHECK(e.find("has {64, 10}") != std::string::npos);

    graph net = io_test::net28.to_graph();
    const io::onnx_weights w28(fixture("net28.onnx"));
    io::bind_weights(net, w28, {.mode = io::bind_mode::by_order, .require_all_used = true});
    const tensor<float> x = io::load_npy(fixture("net28.input.npy"));
    const tensor<float> expected = io::load_npy(fixture("net28.output.npy"));
    const float err = io_test::max_abs_diff(reference::run(net, x.view()), expected);
    MESSAGE("net28 chain bound from ONNX initializers: max abs error " << err);
    CHECK(err <= io_test::parity_tolerance(expected));
}

// ---- importer details on hand-written models ---------------------------------------------------------

TEST_CASE("onnx: asymmetric Conv pads map to padding4 and compute a zero-padded box filter") {
    const graph g = box_conv({0, 0, 1, 1}, /*raw_weights=*/false).import();  // weights in float_data
    REQUIRE(g.size() == 1);
    const auto& spec = std::get<conv2d_spec>(g.at(0).spec);
    CHECK(spec.padding == padding4(0, 0, 1, 1));
    CHECK(!spec.bias);
    CHECK(g.output_shape() == shape{1, 3, 3});
    const tensor<float> x = iota_image(4, 4);
    const tensor<float> y = reference::run(g, x.view());
    for (std::int64_t r = 0; r < 3; ++r)
        for (std::int64_t c = 0; c < 3; ++c) {
            float sum = 0;
            for (std::int64_t i = r; i < std::min<std::int64_t>(r + 3, 4); ++i)
                for (std::int64_t j = c; j < std::min<std::int64_t>(c + 3, 4); ++j) sum += x[i * 4 + j];
            CHECK(y[r * 3 + c] == sum);
        }
}

TEST_CASE("onnx: Conv dilations import as the layer's dilation, auto_pad SAME pads for the dilated span") {
    SUBCASE("explicit pads") {
        model_builder b({1, 1, 9, 10});
        b.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0F));
        auto* conv = b.node("Conv", "dil", {"x", "w"}, "y");
        model_builder::ints(conv, "dilations", {2, 3});
        model_builder::ints(conv, "pads", {1, 0, 0, 0});
        b.output("y");
        const graph g = b.import();
        REQUIRE(g.size() == 1);
        const auto& spec = std::get<conv2d_spec>(g.at(0).spec);
        CHECK(spec.dilation == extent2{2, 3});
        CHECK(spec.kernel == extent2{3});
        CHECK(g.output_shape() == shape{1, 6, 4});
        CHECK(describe(g.at(0).spec).find(",d=2x3,") != std::string::npos);
        // The box filter sums taps 2 rows and 3 columns apart.
        const tensor<float> x = iota_image(9, 10);
        const tensor<float> y = reference::run(g, x.view());
        for (std::int64_t r = 0; r < 6; ++r)
            for (std::int64_t c = 0; c < 4; ++c) {
                float sum = 0;
                for (std::int64_t ky = 0; ky < 3; ++ky)
                    for (std::int64_t kx = 0; kx < 3; ++kx)
                        if (const std::int64_t i = r - 1 + 2 * ky; i >= 0) sum += x[i * 10 + c + 3 * kx];
                CHECK(y[r * 4 + c] == sum);
            }
    }
    SUBCASE("auto_pad SAME_UPPER") {
        model_builder b({1, 2, 7, 7});
        b.initializer("w", {2, 1, 3, 3}, std::vector<float>(18, 0.5F));
        auto* conv = b.node("Conv", "dil", {"x", "w"}, "y");
        model_builder::ints(conv, "dilations", {2, 2});
        model_builder::integer(conv, "group", 2);
        model_builder::text(conv, "auto_pad", "SAME_UPPER");
        b.output("y");
        const graph g = b.import();
        const auto& spec = std::get<conv2d_spec>(g.at(0).spec);
        CHECK(spec.padding == padding4(2));  // the span is 5: 4 pad pixels, 2 each side
        CHECK(g.output_shape() == shape{2, 7, 7});
    }
}

/// x padded with zeros by (top, left, bottom, right), as a plain {1, 1, H, W} image.
tensor<float> zero_padded(const tensor<float>& x, padding4 p) {
    const std::int64_t h = x.extents()[2];
    const std::int64_t w = x.extents()[3];
    tensor<float> out(dims{1, 1, h + p.top + p.bottom, w + p.left + p.right});
    const std::int64_t ow = w + p.left + p.right;
    for (std::int64_t r = 0; r < h; ++r)
        for (std::int64_t c = 0; c < w; ++c) out[(r + p.top) * ow + c + p.left] = x[r * w + c];
    return out;
}

/// A zero Pad of (top, left, bottom, right) on H and W, pads as an opset-11+ initializer input.
onnx::NodeProto* zero_pad(model_builder& b, const std::string& name, const std::string& in,
                          const std::string& out, padding4 p) {
    b.int_initializer(name + ".pads", {8}, {0, 0, p.top, p.left, 0, 0, p.bottom, p.right});
    return b.node("Pad", name, {in, name + ".pads"}, out);
}

TEST_CASE("onnx: a zero Pad folds into the next Conv's padding and computes the explicitly padded conv") {
    model_builder b({1, 1, 5, 6});
    zero_pad(b, "pad", "x", "p", {2, 0, 1, 3});
    b.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0F));
    auto* conv = b.node("Conv", "box", {"p", "w"}, "y");
    model_builder::ints(conv, "pads", {0, 1, 0, 0});
    model_builder::ints(conv, "strides", {2, 1});
    b.output("y");
    const graph g = b.import();
    REQUIRE(g.size() == 1);  // no layer for the Pad
    CHECK(std::get<conv2d_spec>(g.at(0).spec).padding == padding4(2, 1, 1, 3));
    REQUIRE(g.output_shape() == shape{1, 3, 8});
    // The oracle: a 3x3 box filter (stride 2, 1) over the image padded by hand.
    const tensor<float> x = iota_image(5, 6);
    const tensor<float> padded = zero_padded(x, {2, 1, 1, 3});  // the Pad's and the Conv's own
    const std::int64_t pw = padded.extents()[3];
    const tensor<float> y = reference::run(g, x.view());
    const tensor<float> fast = onednn::compiled_graph(g).run(x.view());
    for (std::int64_t r = 0; r < 3; ++r)
        for (std::int64_t c = 0; c < 8; ++c) {
            float sum = 0;
            for (std::int64_t i = 0; i < 3; ++i)
                for (std::int64_t j = 0; j < 3; ++j) sum += padded[(2 * r + i) * pw + c + j];
            CHECK(y[r * 8 + c] == sum);
            CHECK(fast[r * 8 + c] == sum);
        }
}

TEST_CASE("onnx: a zero Pad before pooling folds where exact (AveragePool counting it, MaxPool after Relu)") {
    SUBCASE("AveragePool without pads of its own: the zeros count in every window") {
        model_builder b({1, 1, 4, 5}, 11);
        zero_pad(b, "pad", "x", "p", {1, 1, 1, 1});
        auto* pool = b.node("AveragePool", "avg", {"p"}, "y");
        model_builder::ints(pool, "kernel_shape", {2, 2});
        model_builder::ints(pool, "strides", {2, 2});
        b.output("y");
        const graph g = b.import();
        REQUIRE(g.size() == 1);
        const auto& spec = std::get<pool2d_spec>(g.at(0).spec);
        CHECK(spec.padding == padding4(1));
        CHECK(spec.count_include_pad);
        REQUIRE(g.output_shape() == shape{1, 3, 3});
        const tensor<float> x = iota_image(4, 5);
        const tensor<float> padded = zero_padded(x, padding4(1));
        const tensor<float> y = reference::run(g, x.view());
        const tensor<float> fast = onednn::compiled_graph(g).run(x.view());
        for (std::int64_t r = 0; r < 3; ++r)
            for (std::int64_t c = 0; c < 3; ++c) {
                float sum = 0;
                for (std::int64_t i = 0; i < 2; ++i)
                    for (std::int64_t j = 0; j < 2; ++j) sum += padded[(2 * r + i) * 7 + 2 * c + j];
                CHECK(y[r * 3 + c] == doctest::Approx(sum / 4).epsilon(1e-6));
                CHECK(fast[r * 3 + c] == doctest::Approx(sum / 4).epsilon(1e-6));
            }
    }
    SUBCASE("MaxPool after Relu: a zero is never above the window's maximum") {
        model_builder b({1, 1, 4, 4});
        b.node("Relu", "relu", {"x"}, "r");
        zero_pad(b, "pad", "r", "p", {0, 0, 1, 1});
        auto* pool = b.node("MaxPool", "max", {"p"}, "y");
        model_builder::ints(pool, "kernel_shape", {3, 3});
        model_builder::ints(pool, "strides", {2, 2});
        model_builder::ints(pool, "pads", {1, 1, 0, 0});
        b.output("y");
        const graph g = b.import();
        REQUIRE(g.size() == 2);
        CHECK(std::get<pool2d_spec>(g.at(1).spec).padding == padding4(1, 1, 1, 1));
        REQUIRE(g.output_shape() == shape{1, 2, 2});
        tensor<float> x(dims{1, 1, 4, 4});
        for (std::int64_t i = 0; i < 16; ++i) x[i] = static_cast<float>((i * 7) % 5) - 2.0F;  // some negative
        // Oracle: relu, pad with zeros (the Pad), then max over windows skipping the pool's own pads.
        const tensor<float> y = reference::run(g, x.view());
        const tensor<float> fast = onednn::compiled_graph(g).run(x.view());
        for (std::int64_t r = 0; r < 2; ++r)
            for (std::int64_t c = 0; c < 2; ++c) {
                float best = -1e30F;
                for (std::int64_t i = 0; i < 3; ++i)
                    for (std::int64_t j = 0; j < 3; ++j) {
                        const std::int64_t pr = 2 * r + i - 1;  // row in the Pad's 5x5 output
                        const std::int64_t pc = 2 * c + j - 1;
                        if (pr < 0 || pc < 0 || pr > 4 || pc > 4) continue;  // the pool's own pad
                        best = std::max(best, pr < 4 && pc < 4 ? std::max(x[pr * 4 + pc], 0.0F) : 0.0F);
                    }
                CHECK(y[r * 2 + c] == best);
                CHECK(fast[r * 2 + c] == best);
            }
    }
    SUBCASE("an all-zero Pad is no padding, before any op (DenseNet's transitions)") {
        model_builder b({1, 2, 4, 4});
        zero_pad(b, "pad", "x", "p", {0});
        b.node("Relu", "relu", {"p"}, "y");
        b.output("y");
        const graph g = b.import();
        REQUIRE(g.size() == 1);
        CHECK(std::holds_alternative<activation_spec>(g.at(0).spec));
    }
    SUBCASE("opset 10: pads as an attribute, through an Identity, into a Conv") {
        model_builder b({1, 1, 4, 4}, 10);
        auto* pad = b.node("Pad", "pad", {"x"}, "p");
        model_builder::ints(pad, "pads", {0, 0, 1, 1, 0, 0, 1, 1});
        b.node("Identity", "id", {"p"}, "q");
        b.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0F));
        b.node("Conv", "box", {"q", "w"}, "y");
        b.output("y");
        const graph g = b.import();
        REQUIRE(g.size() == 1);
        CHECK(std::get<conv2d_spec>(g.at(0).spec).padding == padding4(1));
    }
    SUBCASE("pads through folded shape arithmetic: Slice to INT64_MAX and Slice with step -1") {
        // F.pad's subgraph reverses [k, 2] pairs with a step -1 Slice; exports slice "to the end"
        // with INT64_MAX, which must not wrap around to "before the start".
        model_builder b({1, 1, 4, 4});
        b.int_initializer("raw", {10}, {0, 3, 0, 0, 1, 2, 0, 0, 7, 7});
        b.int_initializer("zero", {1}, {0});
        b.int_initializer("end", {1}, {std::numeric_limits<std::int64_t>::max()});
        b.int_initializer("minus1", {1}, {-1});
        b.int_initializer("minus2", {1}, {-2});
        b.int_initializer("very_negative", {1}, {-std::numeric_limits<std::int64_t>::max()});
        b.int_initializer("pairs", {2}, {-1, 2});
        b.node("Slice", "to_the_end", {"raw", "zero", "end"}, "all");  // all 10 values
        b.node("Slice", "drop_two", {"all", "zero", "minus2"}, "eight");
        b.node("Reshape", "as_pairs", {"eight", "pairs"}, "rows");  // (0,3) (0,0) (1,2) (0,0)
        b.node("Slice", "reverse", {"rows", "minus1", "very_negative", "zero", "minus1"}, "reversed");
        b.node("Reshape", "flat", {"reversed", "minus1"}, "pads");  // [0, 0, 1, 2, 0, 0, 0, 3]
        b.node("Pad", "pad", {"x", "pads"}, "p");
        b.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0F));
        b.node("Conv", "box", {"p", "w"}, "y");
        b.output("y");
        const graph g = b.import();
        REQUIRE(g.size() == 1);
        CHECK(std::get<conv2d_spec>(g.at(0).spec).padding == padding4(1, 2, 0, 3));
    }
    SUBCASE("two Pads in a row add up") {
        model_builder b({1, 1, 4, 4});
        zero_pad(b, "pad0", "x", "p", {1, 0, 0, 0});
        zero_pad(b, "pad1", "p", "q", {0, 0, 0, 2});
        b.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0F));
        b.node("Conv", "box", {"q", "w"}, "y");
        b.output("y");
        CHECK(std::get<conv2d_spec>(b.import().at(0).spec).padding == padding4(1, 0, 0, 2));
    }
}

TEST_CASE("onnx: a Pad that cannot be folded exactly is refused, naming the Pad node") {
    const auto refused = [](const model_builder& b, const std::string& expected) {
        const std::string e = b.import_error();
        INFO(e);
        CHECK(e.find("'pad'") != std::string::npos);
        CHECK(e.find(expected) != std::string::npos);
    };
    SUBCASE("before a MaxPool on values that may be negative") {
        model_builder b({1, 1, 4, 4});
        zero_pad(b, "pad", "x", "p", {1});
        model_builder::ints(b.node("MaxPool", "max", {"p"}, "y"), "kernel_shape", {2, 2});
        b.output("y");
        refused(b, "its input may be negative");
    }
    SUBCASE("before an AveragePool with pads of its own that are not counted") {
        model_builder b({1, 1, 4, 4});
        zero_pad(b, "pad", "x", "p", {1});
        auto* pool = b.node("AveragePool", "avg", {"p"}, "y");
        model_builder::ints(pool, "kernel_shape", {3, 3});
        model_builder::ints(pool, "pads", {1, 1, 1, 1});
        b.output("y");
        refused(b, "count_include_pad=0 cannot be folded");
    }
    SUBCASE("before an op that has no padding") {
        model_builder b({1, 1, 4, 4});
        zero_pad(b, "pad", "x", "p", {1});
        b.node("Relu", "relu", {"p"}, "y");
        b.output("y");
        refused(b,
                "only folded into the padding of a Conv, MaxPool or AveragePool reading it, not into a Relu");
    }
    SUBCASE("as the graph output") {
        model_builder b({1, 1, 4, 4});
        b.node("Relu", "relu", {"x"}, "r");
        zero_pad(b, "pad", "r", "y", {1});
        b.output("y");
        refused(b, "is the output of the zero Pad");
    }
    SUBCASE("reflect mode") {
        model_builder b({1, 1, 4, 4});
        model_builder::text(zero_pad(b, "pad", "x", "p", {1}), "mode", "reflect");
        b.node("Relu", "relu", {"p"}, "y");
        b.output("y");
        refused(b, "Pad mode 'reflect' is not supported");
    }
    SUBCASE("a value other than zero") {
        model_builder b({1, 1, 4, 4});
        b.initializer("one", {}, {1.0F});
        b.int_initializer("pads", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
        b.node("Pad", "pad", {"x", "pads", "one"}, "p");
        b.node("Relu", "relu", {"p"}, "y");
        b.output("y");
        refused(b, "Pad with value 1");
    }
    SUBCASE("on the channels, or cropping") {
        model_builder b({1, 1, 4, 4});
        b.int_initializer("pads", {8}, {0, 1, 0, 0, 0, 0, 0, 0});
        b.node("Pad", "pad", {"x", "pads"}, "p");
        b.node("Relu", "relu", {"p"}, "y");
        b.output("y");
        refused(b, "pad the batch or channel axis");
        model_builder c({1, 1, 4, 4});
        c.int_initializer("pads", {8}, {0, 0, -1, 0, 0, 0, 0, 0});
        c.node("Pad", "pad", {"x", "pads"}, "p");
        c.node("Relu", "relu", {"p"}, "y");
        c.output("y");
        refused(c, "crop (a negative pad)");
    }
}

TEST_CASE("onnx: initializers from an external data file are read at their offset") {
    scratch_dir dir;
    model_builder b = box_conv({1, 1, 1, 1}, true);
    onnx::TensorProto* bias = b.initializer("bias", {1}, {}, true);
    bias->clear_raw_data();
    bias->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
    auto add_kv = [&](const char* k, const std::string& v) {
        auto* e = bias->add_external_data();
        e->set_key(k);
        e->set_value(v);
    };
    add_kv("location", "weights.bin");
    add_kv("offset", "4");
    add_kv("length", "4");
    b.save(dir / "model.onnx");
    const std::string wrong_order = error_of([&] { (void)io::load_onnx(dir / "model.onnx"); });
    CHECK(wrong_order.find("weights.bin") != std::string::npos);  // the file does not exist yet
    CHECK(wrong_order.find("does not exist") != std::string::npos);

    const float junk = 99.0F, half = 0.5F;
    io_test::write_bytes(dir / "weights.bin", std::string(reinterpret_cast<const char*>(&junk), 4) +
                                                  std::string(reinterpret_cast<const char*>(&half), 4));
    // Make the conv read the bias: rebuild with the third input.
    model_builder with_bias({1, 1, 4, 4});
    with_bias.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0F));
    onnx::TensorProto* eb = with_bias.initializer("bias", {1}, {}, true);
    eb->clear_raw_data();
    eb->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"location", "weights.bin"}, {"offset", "4"}, {"length", "4"}}) {
        auto* e = eb->add_external_data();
        e->set_key(k);
        e->set_value(v);
    }
    auto* conv = with_bias.node("Conv", "box", {"x", "w", "bias"}, "y");
    model_builder::ints(conv, "pads", {1, 1, 1, 1});
    with_bias.output("y");
    with_bias.save(dir / "model.onnx");
    const graph g = io::load_onnx(dir / "model.onnx");
    REQUIRE(g.at(0).params.size() == 2);
    CHECK(g.at(0).params[1][0] == 0.5F);
    const tensor<float> x = iota_image(4, 4);
    const tensor<float> y = reference::run(g, x.view());
    CHECK(y[5] == 0.5F + (1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11));  // output (1, 1) sees rows 0..2, cols 0..2
}

TEST_CASE("onnx: dilated MaxPools (dilation 2 and (2, 3), padding, ceil_mode) match PyTorch") {
    const graph g = io::load_onnx(fixture("dilated_maxpool.onnx"));
    std::vector<pool2d_spec> pools;
    for (const node& n : g.nodes())
        if (const auto* pool = std::get_if<pool2d_spec>(&n.spec)) pools.push_back(*pool);
    // MaxPool2d(3, 1, padding=1, dilation=2) on 20x20 gives 18x18; MaxPool2d(2, 2, padding=1,
    // dilation=(2, 3), ceil_mode=True) gives 10x9, its last row from one more row of end padding
    // (the window's taps at rows 17 and 19 still read row 17).
    const std::vector<pool2d_spec> expected{
        {.kind = pool_kind::max, .kernel = 3, .stride = 1, .padding = 1, .dilation = 2},
        {.kind = pool_kind::max, .kernel = 2, .stride = 2, .padding = {1, 1, 2, 1}, .dilation = {2, 3}}};
    CHECK(pools == expected);
    check_onnx_parity("dilated_maxpool");
}

TEST_CASE("onnx: a dilated AveragePool is refused by name") {
    model_builder b({1, 1, 6, 6}, 19);
    auto* pool = b.node("AveragePool", "avg", {"x"}, "y");
    model_builder::ints(pool, "kernel_shape", {2, 2});
    model_builder::ints(pool, "dilations", {2, 2});
    b.output("y");
    const std::string e = b.import_error();
    INFO(e);
    CHECK(e.find("node 'avg' (AveragePool") != std::string::npos);
    CHECK(e.find("a dilated AveragePool (dilation 2) is not supported") != std::string::npos);
}

TEST_CASE("onnx: MaxPool ceil_mode gives PyTorch's output size and values") {
    model_builder b({1, 1, 5, 5});
    auto* pool = b.node("MaxPool", "pool", {"x"}, "y");
    model_builder::ints(pool, "kernel_shape", {2, 2});
    model_builder::ints(pool, "strides", {2, 2});
    model_builder::integer(pool, "ceil_mode", 1);
    b.output("y");
    const graph g = b.import();
    CHECK(g.output_shape() == shape{1, 3, 3});
    const tensor<float> x = iota_image(5, 5);  // increasing, so each window's max is its last in-bounds pixel
    const tensor<float> y = reference::run(g, x.view());
    for (std::int64_t r = 0; r < 3; ++r)
        for (std::int64_t c = 0; c < 3; ++c)
            CHECK(y[r * 3 + c] ==
                  x[std::min<std::int64_t>(2 * r + 1, 4) * 5 + std::min<std::int64_t>(2 * c + 1, 4)]);
}

TEST_CASE("onnx: Gemm without transB and f16 initializers in int32_data give x * B + C") {
    model_builder b({1, 1, 2, 2});
    b.node("Flatten", "flat", {"x"}, "f");
    // B is {K = 4, O = 3}, stored as f16 bit patterns: 1, 2, -1, 0.5 etc.
    const std::vector<std::uint16_t> halves = {0x3C00, 0x4000, 0xBC00, 0x3800, 0x0000, 0x3C00,
                                               0xC000, 0x3C00, 0x3800, 0x4200, 0x3C00, 0x0000};
    auto* weight = b.initializer("B", {4, 3}, {}, true);
    weight->clear_raw_data();
    weight->set_data_type(onnx::TensorProto_DataType_FLOAT16);
    for (auto h : halves) weight->add_int32_data(h);
    b.initializer("C", {3}, {0.25F, -0.5F, 1.0F}, false);
    b.node("Gemm", "fc", {"f", "B", "C"}, "y");
    b.output("y");
    const graph g = b.import();
    CHECK(g.output_shape() == shape{3, 1, 1});
    const tensor<float> x = iota_image(2, 2);  // 1, 2, 3, 4
    const tensor<float> y = reference::run(g, x.view());
    const float B[4][3] = {{1, 2, -1}, {0.5F, 0, 1}, {-2, 1, 0.5F}, {3, 1, 0}};
    const float C[3] = {0.25F, -0.5F, 1.0F};
    for (int o = 0; o < 3; ++o) {
        float expected = C[o];
        for (int k = 0; k < 4; ++k) expected += static_cast<float>(k + 1) * B[k][o];
        CHECK(y[o] == expected);
    }
}

TEST_CASE("onnx: opset 10 Clip with min/max attributes (0, 6) is relu6") {
    model_builder b({1, 1, 2, 2}, 10);
    auto* clip = b.node("Clip", "clip", {"x"}, "y");
    model_builder::real(clip, "min", 0.0F);
    model_builder::real(clip, "max", 6.0F);
    b.output("y");
    const graph g = b.import();
    CHECK(std::get<activation_spec>(g.at(0).spec).kind == activation_kind::relu6);
}

// ---- what the importer refuses -------------------------------------------------------------------------

TEST_CASE("onnx: an unsupported operator names the op, the node and the opset") {
    model_builder b({1, 1, 4, 4});
    b.node("Tanh", "my_tanh", {"x"}, "y");
    b.output("y");
    const std::string e = b.import_error();
    INFO(e);
    CHECK(e.find("node 'my_tanh'") != std::string::npos);
    CHECK(e.find("operator 'Tanh' is not supported") != std::string::npos);
    CHECK(e.find("opset 13") != std::string::npos);

    model_builder custom({1, 1, 4, 4});
    custom.node("FusedConv", "fused", {"x"}, "y")->set_domain("com.microsoft");
    custom.output("y");
    CHECK(custom.import_error().find("of domain 'com.microsoft' is not supported") != std::string::npos);
}

TEST_CASE(
    "onnx: Mul by a constant, a Mul that does not broadcast per channel and ReduceMean over channels are "
    "refused by name") {
    model_builder scaled({1, 2, 4, 4});
    scaled.initializer("k", {1, 2, 1, 1}, {2.0F, 3.0F});
    scaled.node("Mul", "scale", {"x", "k"}, "y");
    scaled.output("y");
    std::string e = scaled.import_error();
    INFO(e);
    CHECK(e.find("node 'scale'") != std::string::npos);
    CHECK(e.find("multiplying by a constant tensor is not supported") != std::string::npos);

    model_builder rows({1, 2, 4, 4});
    auto* m = rows.node("ReduceMean", "rows", {"x"}, "r");
    model_builder::ints(m, "axes", {3});
    rows.node("Mul", "mul", {"x", "r"}, "y");
    rows.output("y");
    e = rows.import_error();
    CHECK(e.find("node 'rows'") != std::string::npos);
    CHECK(e.find("ReduceMean over axes other than height and width") != std::string::npos);

    model_builder pooled({1, 2, 4, 4});
    auto* p = pooled.node("MaxPool", "pool", {"x"}, "p");
    model_builder::ints(p, "kernel_shape", {2, 2});
    model_builder::ints(p, "strides", {2, 2});
    pooled.node("Mul", "mul", {"x", "p"}, "y");
    pooled.output("y");
    e = pooled.import_error();
    CHECK(e.find("node 'mul'") != std::string::npos);
    CHECK(e.find("multiply: the second input must have the first's shape or one value per channel") !=
          std::string::npos);
}

TEST_CASE("onnx: a missing initializer names the tensor and the node") {
    model_builder b({1, 1, 4, 4});
    b.node("Conv", "conv0", {"x", "conv0.weight"}, "y");
    b.output("y");
    const std::string e = b.import_error();
    INFO(e);
    CHECK(e.find("node 'conv0'") != std::string::npos);
    CHECK(e.find("input 'conv0.weight' is not defined") != std::string::npos);
    CHECK(e.find("missing initializer") != std::string::npos);
}

TEST_CASE("onnx: an input of the wrong rank is refused with its shape") {
    model_builder b({-1, 28, 28});
    b.node("Relu", "r", {"x"}, "y");
    b.output("y");
    const std::string e = b.import_error();
    INFO(e);
    CHECK(e.find("input 'x': has rank 3 ([N, 28, 28])") != std::string::npos);
    CHECK(e.find("[N, C, H, W]") != std::string::npos);
}

TEST_CASE("onnx: unsupported attribute values are refused, naming the attribute") {
    SUBCASE("Clip other than (0, 6)") {
        model_builder b({1, 1, 4, 4});
        b.initializer("lo", {}, {0.0F});
        b.initializer("hi", {}, {1.0F});
        b.node("Clip", "clip", {"x", "lo", "hi"}, "y");
        b.output("y");
        CHECK(b.import_error().find("Clip(0.000000, 1.000000) is not supported") != std::string::npos);
    }
    SUBCASE(
        "Clip bound that is not one value (found by fuzz_onnx: an empty min escaped as std::out_of_range)") {
        model_builder b({1, 1, 4, 4});
        b.initializer("lo", {0}, {});
        b.node("Clip", "clip", {"x", "lo"}, "y");
        b.output("y");
        CHECK(b.import_error().find("Clip min must hold one value, not 0") != std::string::npos);
        model_builder two({1, 1, 4, 4});
        two.initializer("hi", {2}, {6.0F, 6.0F});
        two.node("Clip", "clip", {"x", "", "hi"}, "y");
        two.output("y");
        CHECK(two.import_error().find("Clip max must hold one value, not 2") != std::string::npos);
    }
    SUBCASE("Gemm alpha") {
        model_builder b({1, 1, 2, 2});
        b.node("Flatten", "flat", {"x"}, "f");
        b.initializer("w", {3, 4}, std::vector<float>(12, 0.1F));
        auto* gemm = b.node("Gemm", "fc", {"f", "w"}, "y");
        model_builder::integer(gemm, "transB", 1);
        model_builder::real(gemm, "alpha", 0.5F);
        b.output("y");
        CHECK(b.import_error().find("alpha and beta other than 1 are not supported") != std::string::npos);
    }
    SUBCASE("Conv dilation 0 or of three values") {
        model_builder d({1, 1, 8, 8});
        d.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0F));
        model_builder::ints(d.node("Conv", "dil", {"x", "w"}, "y"), "dilations", {2, 0});
        d.output("y");
        const std::string e = d.import_error();
        INFO(e);
        CHECK(e.find("node 'dil'") != std::string::npos);
        CHECK(e.find("dilation 0 is not positive") != std::string::npos);
        model_builder three({1, 1, 8, 8});
        three.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0F));
        model_builder::ints(three.node("Conv", "dil", {"x", "w"}, "y"), "dilations", {2, 2, 2});
        three.output("y");
        CHECK(three.import_error().find("dilations must have 2 values") != std::string::npos);
    }
    SUBCASE("a dilated Conv kernel larger than the padded input") {
        model_builder d({1, 1, 6, 6});
        d.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0F));
        model_builder::ints(d.node("Conv", "dil", {"x", "w"}, "y"), "dilations", {3, 3});
        d.output("y");
        const std::string e = d.import_error();
        INFO(e);
        CHECK(e.find("dilated kernel is larger than the padded input") != std::string::npos);
    }
    SUBCASE("Concat on the height axis") {
        model_builder b({1, 1, 4, 4});
        b.node("Relu", "a", {"x"}, "a");
        b.node("Relu", "b", {"x"}, "b");
        model_builder::integer(b.node("Concat", "cat", {"a", "b"}, "y"), "axis", 2);
        b.output("y");
        CHECK(b.import_error().find("Concat along axis 2 is not supported") != std::string::npos);
    }
    SUBCASE("Softmax over the batch axis") {
        model_builder b({1, 1, 2, 2});
        b.node("Flatten", "flat", {"x"}, "f");
        model_builder::integer(b.node("Softmax", "sm", {"f"}, "y"), "axis", 0);
        b.output("y");
        CHECK(b.import_error().find("Softmax over axis 0 of a rank-2 tensor is not supported") !=
              std::string::npos);
    }
    SUBCASE("BatchNormalization in training mode") {
        model_builder b({1, 2, 2, 2});
        for (const char* p : {"s", "b", "m", "v"}) b.initializer(p, {2}, {1.0F, 1.0F});
        model_builder::integer(b.node("BatchNormalization", "bn", {"x", "s", "b", "m", "v"}, "y"),
                               "training_mode", 1);
        b.output("y");
        CHECK(b.import_error().find("training_mode=1 is not supported") != std::string::npos);
    }
    SUBCASE("MaxPool whose indices are used") {
        model_builder b({1, 1, 4, 4});
        auto* pool = b.node("MaxPool", "pool", {"x"}, "y");
        pool->add_output("indices");
        model_builder::ints(pool, "kernel_shape", {2, 2});
        b.output("indices");
        CHECK(b.import_error().find("output 1 ('indices') is used") != std::string::npos);
    }
    SUBCASE("two outputs") {
        model_builder b({1, 1, 4, 4});
        b.node("Relu", "a", {"x"}, "a");
        b.node("Relu", "b", {"a"}, "b");
        b.output("a");
        b.output("b");
        CHECK(b.import_error().find("has 2 outputs") != std::string::npos);
    }
    SUBCASE("Reshape that is not a flatten") {
        model_builder b({1, 2, 4, 4});
        auto* shape_t = b.initializer("s", {4}, {});
        shape_t->clear_raw_data();
        shape_t->set_data_type(onnx::TensorProto_DataType_INT64);
        for (std::int64_t v : {1, 4, 2, 4}) shape_t->add_int64_data(v);
        b.node("Reshape", "re", {"x", "s"}, "y");
        b.output("y");
        CHECK(b.import_error().find("Reshape of [N, 2, 4, 4] to [1, 4, 2, 4] is not a flatten") !=
              std::string::npos);
    }
}

TEST_CASE("onnx: a non-finite weight is refused, naming the layer") {
    model_builder b({1, 1, 4, 4});
    std::vector<float> w(9, 1.0F);
    w[4] = std::numeric_limits<float>::quiet_NaN();
    b.initializer("w", {1, 1, 3, 3}, w);
    b.node("Conv", "nan_conv", {"x", "w"}, "y");
    b.output("y");
    const std::string e = b.import_error();
    INFO(e);
    CHECK(e.find("nan_conv") != std::string::npos);
    CHECK(e.find("non-finite value at index 4") != std::string::npos);
}

TEST_CASE("onnx: an initializer claiming huge dims is refused before anything is allocated") {
    {
        model_builder b({1, 1, 4, 4});
        b.initializer("w", {1LL << 40, 1LL << 40}, std::vector<float>(9, 1.0F));
        b.node("Conv", "huge_conv", {"x", "w"}, "y");
        b.output("y");
        const std::string e = b.import_error();
        INFO(e);
        CHECK(e.find("tensor 'w'") != std::string::npos);
        CHECK(e.find("too large") != std::string::npos);
    }
    {
        // Each extent is allowed, the bytes present are not: the size check comes before the resize.
        model_builder b({1, 1, 4, 4});
        b.initializer("w", {1LL << 40}, std::vector<float>(9, 1.0F));
        b.node("Conv", "big_conv", {"x", "w"}, "y");
        b.output("y");
        const std::string e = b.import_error();
        INFO(e);
        CHECK(e.find("tensor 'w'") != std::string::npos);
        CHECK(e.find("holds 36 bytes") != std::string::npos);
    }
    {
        model_builder b({1, 1, 4, 4});
        b.initializer("w", {1LL << 40}, std::vector<float>(9, 1.0F), false);  // float_data
        b.node("Conv", "big_conv", {"x", "w"}, "y");
        b.output("y");
        const std::string e = b.import_error();
        INFO(e);
        CHECK(e.find("tensor 'w'") != std::string::npos);
        CHECK(e.find("holds 9 values") != std::string::npos);
    }
}

TEST_CASE("onnx: bad external_data offset or length text names the tensor and the key") {
    scratch_dir dir;
    const float half = 0.5F;
    io_test::write_bytes(dir / "weights.bin", std::string(reinterpret_cast<const char*>(&half), 4));
    const auto error_for = [&](const std::string& key, const std::string& value) {
        model_builder b({1, 1, 4, 4});
        b.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0F));
        onnx::TensorProto* bias = b.initializer("bias", {1}, {}, true);
        bias->clear_raw_data();
        bias->set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
        for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                 {"location", "weights.bin"}, {"offset", "0"}, {"length", "4"}, {key, value}}) {
            auto* e = bias->add_external_data();
            e->set_key(k);
            e->set_value(v);
        }
        b.node("Conv", "box", {"x", "w", "bias"}, "y");
        b.output("y");
        b.save(dir / "model.onnx");
        return error_of([&] { (void)io::load_onnx(dir / "model.onnx"); });
    };
    CHECK(error_for("offset", "0").empty());  // the last value of a key wins; this model loads
    for (const auto& [key, value] :
         std::vector<std::pair<std::string, std::string>>{{"offset", "four"},
                                                          {"offset", "-4"},
                                                          {"offset", ""},
                                                          {"length", "4 bytes"},
                                                          {"length", "99999999999999999999999"}}) {
        const std::string e = error_for(key, value);
        INFO(key << " = '" << value << "': " << e);
        CHECK(e.find("tensor 'bias'") != std::string::npos);
        CHECK(e.find("'" + key + "'") != std::string::npos);
        CHECK(e.find("'" + value + "'") != std::string::npos);
    }
    const std::string past = error_for("offset", "18446744073709551615");
    INFO(past);
    CHECK(past.find("tensor 'bias'") != std::string::npos);
    CHECK(past.find("runs past the end") != std::string::npos);
}

TEST_CASE("onnx: a file that is not an ONNX model, or a truncated one, is refused") {
    scratch_dir dir;
    io_test::write_bytes(dir / "junk.onnx", std::string("\xff\xff\xff\xff this is not protobuf"));
    CHECK(error_of([&] { (void)io::load_onnx(dir / "junk.onnx"); }).find("not a valid ONNX model") !=
          std::string::npos);
    const std::string full = io_test::read_bytes(fixture("net28.onnx"));
    io_test::write_bytes(dir / "cut.onnx", full.substr(0, full.size() / 2));
    const std::string cut = error_of([&] { (void)io::load_onnx(dir / "cut.onnx"); });
    CHECK(cut.find("cut.onnx") != std::string::npos);
    CHECK(!cut.empty());
    CHECK(error_of([&] { (void)io::load_onnx(dir / "absent.onnx"); }).find("cannot open") !=
          std::string::npos);
}
