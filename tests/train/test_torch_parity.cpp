// The trainer against PyTorch: 3 SGD-momentum steps of a small residual net, a MobileNetV2-style
// suffix, a MobileNetV3 block (hard-swish, hard-sigmoid squeeze-and-excitation), an EfficientNet
// block (SiLU, sigmoid squeeze-and-excitation) and ShuffleNetV2 units (chunk, concat, channel
// shuffle) in train() mode (batch statistics), from the same weights on the same batch, must give
// PyTorch's losses and PyTorch's weights and running statistics afterwards
// (tools/fixtures/export_training_fixtures.py made the files).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <stemshare/graph/graph.hpp>
#include <stemshare/io/bind_weights.hpp>
#include <stemshare/io/npy.hpp>
#include <stemshare/io/safetensors.hpp>
#include <stemshare/train/loss.hpp>
#include <stemshare/train/network.hpp>
#include <stemshare/train/sgd.hpp>

using namespace stemshare;

namespace {

const std::filesystem::path fixtures = STEMSHARE_TRAIN_FIXTURES_DIR;

graph residual_net() {
    graph g(shape{8, 8, 8});
    g.add("c1", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1, .bias = false});
    g.add("bn1", batch_norm_spec{});
    g.add("relu1", activation_spec{activation_kind::relu});
    g.add("c2", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1, .bias = false});
    const auto bn2 = g.add("bn2", batch_norm_spec{});
    const auto sum = g.add("sum", add_spec{}, {bn2, graph_input});
    g.add("relu2", activation_spec{activation_kind::relu}, {sum});
    g.add("pool", pool2d_spec{.kind = pool_kind::max});
    g.add("down", conv2d_spec{.out_channels = 16, .kernel = 3, .stride = 2, .padding = 1});
    g.add("relu3", activation_spec{activation_kind::relu});
    g.add("gap", global_avg_pool_spec{});
    g.add("fc", dense_spec{.out_features = 5});
    return g;
}

// A bias-free conv named `name` on `in`, its batch-norm `name_bn` and, if given, the activation
// `name_act`; returns the last of them.
value_id conv_bn_act(graph& g, const std::string& name, value_id in, std::int64_t out, std::int64_t kernel,
                     std::int64_t stride, std::int64_t groups, const std::optional<layer_spec>& act) {
    g.add(name,
          conv2d_spec{.out_channels = out,
                      .kernel = kernel,
                      .stride = stride,
                      .padding = kernel / 2,
                      .groups = groups,
                      .bias = false},
          {in});
    const value_id bn = g.add(name + "_bn", batch_norm_spec{});
    return act ? g.add(name + "_act", *act) : bn;
}

void conv_bn(graph& g, const std::string& name, std::int64_t out, std::int64_t kernel, std::int64_t stride,
             std::int64_t groups, bool relu6) {
    conv_bn_act(g, name, g.last_value(), out, kernel, stride, groups,
                relu6 ? std::optional<layer_spec>(activation_spec{activation_kind::relu6}) : std::nullopt);
}

graph mbv2_suffix_net() {
    graph g(shape{16, 8, 8});
    conv_bn(g, "expand", 48, 1, 1, 1, true);
    conv_bn(g, "dw", 48, 3, 1, 48, true);
    conv_bn(g, "project", 16, 1, 1, 1, false);
    const auto sum = g.add("sum", add_spec{}, {g.last_value(), graph_input});
    CHECK(sum > 0);
    conv_bn(g, "expand2", 48, 1, 1, 1, true);
    conv_bn(g, "dw2", 48, 3, 2, 48, true);
    conv_bn(g, "project2", 24, 1, 1, 1, false);
    conv_bn(g, "head", 32, 1, 1, 1, true);
    g.add("gap", global_avg_pool_spec{});
    g.add("fc", dense_spec{.out_features = 5});
    return g;
}

// Squeeze-and-excitation on `in` as torchvision writes it: global average pool, 1x1 conv `se_fc1`,
// `inner` activation, 1x1 conv `se_fc2` back to the channels, `gate`, times `in` per channel.
value_id squeeze_excitation(graph& g, value_id in, std::int64_t squeezed, const layer_spec& inner,
                            const layer_spec& gate) {
    g.add("se_pool", global_avg_pool_spec{}, {in});
    g.add("se_fc1", conv2d_spec{.out_channels = squeezed});
    g.add("se_inner", inner);
    g.add("se_fc2", conv2d_spec{.out_channels = g.shape_of(in).c});
    const value_id gated = g.add("se_gate", gate);
    return g.add("se_scale", multiply_spec{}, {in, gated});
}

graph mbv3_suffix_net() {
    const layer_spec hswish = gate_activation_spec{.kind = gate_kind::hard_swish};
    graph g(shape{16, 8, 8});
    conv_bn_act(g, "expand", graph_input, 48, 1, 1, 1, hswish);
    const value_id dw = conv_bn_act(g, "dw", g.last_value(), 48, 3, 1, 48, hswish);
    const value_id se = squeeze_excitation(g, dw, 12, activation_spec{activation_kind::relu},
                                           gate_activation_spec{.kind = gate_kind::hard_sigmoid});
    const value_id project = conv_bn_act(g, "project", se, 16, 1, 1, 1, std::nullopt);
    const value_id sum = g.add("sum", add_spec{}, {project, graph_input});
    conv_bn_act(g, "head", sum, 32, 1, 1, 1, hswish);
    g.add("gap", global_avg_pool_spec{});
    g.add("fc1", dense_spec{.out_features = 24});
    g.add("fc1_act", hswish);
    g.add("fc", dense_spec{.out_features = 5});
    return g;
}

graph effnet_block_net() {
    const layer_spec silu = gate_activation_spec{.kind = gate_kind::silu};
    graph g(shape{16, 8, 8});
    conv_bn_act(g, "expand", graph_input, 64, 1, 1, 1, silu);
    const value_id dw = conv_bn_act(g, "dw", g.last_value(), 64, 5, 1, 64, silu);
    const value_id se = squeeze_excitation(g, dw, 4, silu, activation_spec{activation_kind::sigmoid});
    const value_id project = conv_bn_act(g, "project", se, 16, 1, 1, 1, std::nullopt);
    const value_id sum = g.add("sum", add_spec{}, {project, graph_input});
    conv_bn_act(g, "head", sum, 32, 1, 1, 1, silu);
    g.add("gap", global_avg_pool_spec{});
    g.add("fc", dense_spec{.out_features = 5});
    return g;
}

// torchvision's ShuffleNetV2 branch: 1x1 conv + relu, depthwise 3x3 (no activation), 1x1 + relu.
value_id shuffle_branch(graph& g, const std::string& prefix, value_id in, std::int64_t out,
                        std::int64_t stride) {
    const layer_spec relu = activation_spec{activation_kind::relu};
    const value_id pw1 = conv_bn_act(g, prefix + "_pw1", in, out, 1, 1, 1, relu);
    const value_id dw = conv_bn_act(g, prefix + "_dw", pw1, out, 3, stride, out, std::nullopt);
    return conv_bn_act(g, prefix + "_pw2", dw, out, 1, 1, 1, relu);
}

// A stride-1 ShuffleNetV2 unit: chunk in two halves, the second through the branch, concat,
// shuffle of 2 groups.
value_id shuffle_unit(graph& g, const std::string& prefix, value_id in) {
    const std::int64_t half = g.shape_of(in).c / 2;
    const value_id a = g.add(prefix + "_a", channel_slice_spec{0, half}, {in});
    const value_id b = g.add(prefix + "_b", channel_slice_spec{half, half}, {in});
    const value_id cat = g.add(prefix + "_cat", concat_spec{}, {a, shuffle_branch(g, prefix, b, half, 1)});
    return g.add(prefix + "_shuffle", channel_shuffle_spec{2}, {cat});
}

graph shufflenet_block_net() {
    graph g(shape{32, 8, 8});
    const value_id u1 = shuffle_unit(g, "u1", graph_input);
    const value_id left_dw = conv_bn_act(g, "u2_left_dw", u1, 32, 3, 2, 32, std::nullopt);
    const value_id left =
        conv_bn_act(g, "u2_left_pw", left_dw, 24, 1, 1, 1, activation_spec{activation_kind::relu});
    const value_id cat = g.add("u2_cat", concat_spec{}, {left, shuffle_branch(g, "u2", u1, 24, 2)});
    const value_id u2 = g.add("u2_shuffle", channel_shuffle_spec{2}, {cat});
    const value_id u3 = shuffle_unit(g, "u3", u2);
    conv_bn_act(g, "head", u3, 32, 1, 1, 1, activation_spec{activation_kind::relu});
    g.add("gap", global_avg_pool_spec{});
    g.add("fc", dense_spec{.out_features = 5});
    return g;
}

struct parity {
    double worst_loss = 0.0;    // largest |ours - torch| / |torch| over the 3 losses
    double worst_weight = 0.0;  // largest |ours - torch| / (max |torch| of that tensor)
    std::string worst_name;
};

parity run(graph g, const std::string& name, int threads) {
    io::safetensors_file initial(fixtures / (name + ".initial.safetensors"));
    io::bind_weights(g, initial);
    const tensor<float> x = io::load_npy(fixtures / (name + ".input.npy"));
    const tensor<float> label_values = io::load_npy(fixtures / (name + ".labels.npy"));
    const tensor<float> losses = io::load_npy(fixtures / (name + ".losses.npy"));
    std::vector<std::int32_t> labels;
    for (float v : label_values.values()) labels.push_back(static_cast<std::int32_t>(v));

    train::network net(std::move(g),
                       {.batch_norm = train::batch_norm_mode::batch_statistics, .threads = threads});
    train::sgd optimiser({.learning_rate = 0.05F, .momentum = 0.9F, .weight_decay = 5e-4F});
    tensor<float> grad;
    parity p;
    for (std::int64_t step = 0; step < 3; ++step) {
        const double loss = train::softmax_cross_entropy(net.forward(x, true), labels, grad);
        MESSAGE(name << " step " << step << ": loss " << loss << ", PyTorch " << losses[step]);
        p.worst_loss = std::max(p.worst_loss, std::abs(loss - losses[step]) / std::abs(losses[step]));
        net.backward(grad);
        optimiser.step(net, 0.05F);
    }

    graph expected = net.model();
    io::safetensors_file after(fixtures / (name + ".after3.safetensors"));
    io::bind_weights(expected, after);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const node& want = expected.at(i);
        const node& got = net.model().at(i);
        const param_list descs = want.param_descs();
        for (std::size_t j = 0; j < want.params.size(); ++j) {
            double scale = 1e-6;
            for (float v : want.params[j].values()) scale = std::max(scale, static_cast<double>(std::abs(v)));
            for (std::int64_t e = 0; e < want.params[j].numel(); ++e) {
                const double err =
                    std::abs(static_cast<double>(got.params[j][e]) - want.params[j][e]) / scale;
                if (err > p.worst_weight) {
                    p.worst_weight = err;
                    p.worst_name = want.name + "." + std::string(descs[j].name);
                }
            }
        }
    }
    return p;
}

/// Runs `name`'s 3 steps at 1 and 2 threads and checks the tolerances below.
void check_parity(const graph& net, const std::string& name) {
    for (int threads : {1, 2}) {
        CAPTURE(threads);
        const parity p = run(net, name, threads);
        MESSAGE(name << ", " << threads << " threads: worst loss error " << p.worst_loss
                     << ", worst weight error " << p.worst_weight << " (" << p.worst_name << ")");
        CHECK(p.worst_loss < 1e-4);
        CHECK(p.worst_weight < 1e-4);
    }
}

}  // namespace

// Tolerances: losses within 1e-4 relative, every weight and running statistic within 1e-4 of its
// tensor's largest magnitude (float32 sums in another order; measured worst about 3e-7).
TEST_CASE("train: 3 SGD steps of a residual net match PyTorch (losses, weights, running statistics)") {
    check_parity(residual_net(), "residual");
}

TEST_CASE(
    "train: 3 SGD steps of a MobileNetV2-style suffix match PyTorch (losses, weights, running statistics)") {
    check_parity(mbv2_suffix_net(), "mbv2_suffix");
}

TEST_CASE(
    "train: 3 SGD steps of a MobileNetV3 block (hard-swish, hard-sigmoid squeeze-and-excitation) match "
    "PyTorch") {
    check_parity(mbv3_suffix_net(), "mbv3_suffix");
}

TEST_CASE(
    "train: 3 SGD steps of an EfficientNet block (SiLU, sigmoid squeeze-and-excitation) match PyTorch") {
    check_parity(effnet_block_net(), "effnet_block");
}

TEST_CASE("train: 3 SGD steps of ShuffleNetV2 units (chunk, concat, channel shuffle) match PyTorch") {
    check_parity(shufflenet_block_net(), "shufflenet_block");
}
