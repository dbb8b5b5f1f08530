#pragma once
/// \file
/// `fold_batch_norms`: merges every inference batch-norm that directly follows a convolution into
/// that convolution's weights and bias, so backends run one fused conv instead of two passes.

#include <cmath>
#include <cstddef>
#include <vector>

#include <stemshare/graph/graph.hpp>

namespace stemshare {

namespace detail {
/// Node i is a batch-norm that can fold into its input: a bound conv whose only reader is node i.
inline bool folds_into_producer(const graph& g, std::size_t i) {
    const node& n = g.nodes()[i];
    if (!std::holds_alternative<batch_norm_spec>(n.spec) || !n.is_bound()) return false;
    const value_id producer = n.inputs[0];
    if (producer == graph_input) return false;
    const node& conv = g.nodes()[static_cast<std::size_t>(producer)];
    if (!std::holds_alternative<conv2d_spec>(conv.spec) || !conv.is_bound()) return false;
    for (std::size_t j = 0; j < g.size(); ++j)
        for (value_id v : g.nodes()[j].inputs)
            if (v == producer && j != i) return false;
    return true;
}
}  // namespace detail

/// Returns an equivalent graph without foldable batch-norms. Branch points move with the layers
/// they follow. Unbound layers are left as they are.
[[nodiscard]] inline graph fold_batch_norms(const graph& g) {
    const auto& old_nodes = g.nodes();
    std::vector<bool> folds(old_nodes.size(), false);
    std::vector<std::size_t> bn_of(old_nodes.size(), old_nodes.size());  // conv index -> its batch-norm
    for (std::size_t i = 0; i < old_nodes.size(); ++i) {
        if (detail::folds_into_producer(g, i)) {
            folds[i] = true;
            bn_of[static_cast<std::size_t>(old_nodes[i].inputs[0])] = i;
        }
    }

    graph out(g.input_shape());
    std::vector<value_id> remap(old_nodes.size(), graph_input);
    std::vector<std::size_t> new_count_before(old_nodes.size() + 1, 0);
    for (std::size_t i = 0; i < old_nodes.size(); ++i) {
        new_count_before[i] = out.size();
        const node& n = old_nodes[i];
        if (folds[i]) {
            remap[i] = remap[static_cast<std::size_t>(n.inputs[0])];
            continue;
        }
        std::vector<value_id> inputs;
        for (value_id v : n.inputs)
            inputs.push_back(v == graph_input ? graph_input : remap[static_cast<std::size_t>(v)]);
        if (bn_of[i] == old_nodes.size()) {
            remap[i] = out.add(n.name, n.spec, inputs);
            if (n.is_bound()) out.bind(static_cast<std::size_t>(remap[i]), n.params);
            continue;
        }
        // conv(x) * scale + shift with scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
        const node& bn = old_nodes[bn_of[i]];
        const float eps = std::get<batch_norm_spec>(bn.spec).epsilon;
        conv2d_spec spec = std::get<conv2d_spec>(n.spec);
        const std::int64_t out_c = spec.out_channels;
        tensor<float> weight = n.params[0];
        tensor<float> bias(dims{out_c});
        const std::int64_t per_channel = weight.numel() / out_c;
        for (std::int64_t o = 0; o < out_c; ++o) {
            const double scale = bn.params[0][o] / std::sqrt(static_cast<double>(bn.params[3][o]) + eps);
            for (std::int64_t j = 0; j < per_channel; ++j)
                weight[o * per_channel + j] = static_cast<float>(weight[o * per_channel + j] * scale);
            const double b = spec.bias ? n.params[1][o] : 0.0;
            bias[o] = static_cast<float>((b - bn.params[2][o]) * scale + bn.params[1][o]);
        }
        spec.bias = true;
        remap[i] = out.add(n.name, spec, inputs);
        std::vector<tensor<float>> params;
        params.push_back(std::move(weight));
        params.push_back(std::move(bias));
        out.bind(static_cast<std::size_t>(remap[i]), std::move(params));
    }
    new_count_before[old_nodes.size()] = out.size();

    if (g.has_declared_branch_points()) {
        std::vector<std::size_t> points;
        for (std::size_t k : g.branch_points()) {
            const std::size_t mapped = new_count_before[k];
            if ((points.empty() || points.back() < mapped) && out.is_cut_point(mapped))
                points.push_back(mapped);
        }
        out.set_branch_points(std::move(points));
    }
    return out;
}

}  // namespace stemshare
