#pragma once
// Small models for the stem and runtime tests: one base network (plain blocks, a residual block,
// a classifier head) and "apps fine-tuned from it": the first k layers keep the base weights,
// the rest get the app's own.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/fill.hpp>

namespace stemshare::test_models {

using namespace stemshare::layers;
using stemshare::input;

// Everything but the classifier of the two nets below.
inline constexpr auto base_trunk =
    input<3, 16, 16>                                                                                    //
    | block(conv2d<{.out_channels = 8, .kernel = 3, .padding = 1, .bias = false}> | batch_norm | relu)  //
    | residual(conv2d<{.out_channels = 8, .kernel = 3, .padding = 1}> | relu |
               conv2d<{.out_channels = 8, .kernel = 3, .padding = 1}>)  //
    | relu                                                              //
    | block(conv2d<{.out_channels = 16, .kernel = 3, .stride = 2, .padding = 1, .bias = false}> | batch_norm |
            relu)  //
    | global_avg_pool | flatten;

// Branch points: 0, 3, 7, 8, 11, 12, 13, 14 (layers: 14).
inline constexpr auto base_net = base_trunk | dense<{.out_features = 4}>;

// The same network with a 3-way head: structurally equal for the first 13 layers.
inline constexpr auto three_class_net = base_trunk | dense<{.out_features = 3}>;

// A different first block (stride 2): structurally equal for no layer.
inline constexpr auto strided_net =
    input<3, 16, 16>  //
    | block(conv2d<{.out_channels = 8, .kernel = 3, .stride = 2, .padding = 1, .bias = false}> | batch_norm |
            relu)  //
    | global_avg_pool | flatten | dense<{.out_features = 4}>;

inline constexpr std::size_t base_layers = 14;

/// The base network with weights from `seed`.
inline graph base_model(std::uint64_t seed) {
    graph g = base_net.to_graph();
    g.bind_random(seed);
    return g;
}

/// An app fine-tuned from `base` with its first `k` layers frozen: layers k.. get weights from
/// `own_seed`.
inline graph fine_tuned(const graph& base, std::size_t k, std::uint64_t own_seed) {
    graph g = base;
    graph own = base;
    own.bind_random(own_seed);
    for (std::size_t i = k; i < g.size(); ++i) g.bind(i, own.nodes()[i].params);
    return g;
}

/// `g` with one weight of layer `layer` nudged.
inline graph with_changed_weight(const graph& g, std::size_t layer, std::int64_t index = 0) {
    graph out = g;
    auto params = out.nodes()[layer].params;
    params[0][index] += 1e-3F;
    out.bind(layer, std::move(params));
    return out;
}

/// The same layers and weights with other names and no declared branch points (as a file
/// loader would produce).
inline graph renamed_undeclared(const graph& g) {
    graph out(g.input_shape());
    for (const node& n : g.nodes()) {
        const value_id id = out.add("other." + n.name, n.spec, n.inputs);
        out.bind(static_cast<std::size_t>(id), n.params);
    }
    return out;
}

/// A random frame {1, 3, 16, 16}.
inline tensor<float> frame(std::uint64_t seed) {
    tensor<float> t(dims{1, 3, 16, 16});
    fill_uniform(t.values(), seed, 0.0F, 1.0F);
    return t;
}

}  // namespace stemshare::test_models
