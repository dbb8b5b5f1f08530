#pragma once
/// \file
/// `reference::run`: executes a graph with the naive kernels. Slow by design; the parity oracle.

#include <cstddef>
#include <string>
#include <vector>

#include <stemshare/backend/reference/kernels.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>

namespace stemshare::reference {

/// Checks that `src` is a batch of the graph's input shape ({N, c, h, w}, plain layout).
inline void check_input(const graph& g, const dims& src, layout src_layout, std::string_view who) {
    const shape in = g.input_shape();
    if (src.rank() != 4 || src[0] <= 0 || src[1] != in.c || src[2] != in.h || src[3] != in.w)
        throw error(std::string(who), "input must have dims {N, " + std::to_string(in.c) + ", " +
                                          std::to_string(in.h) + ", " + std::to_string(in.w) + "}, got " +
                                          to_string(src));
    if (src_layout != layout::plain) throw error(std::string(who), "input must be in plain (NCHW) layout");
}

/// Runs every layer of `g` on `src` ({N, c, h, w}, plain) and returns the last layer's output,
/// {N, c', h', w'} plain. Throws `stemshare::error` for a wrong input or an unbound layer.
[[nodiscard]] inline tensor<float> run(const graph& g, tensor_view<const float> src) {
    check_input(g, src.extents(), src.memory_layout(), "reference::run");
    const std::int64_t batch = src.extents()[0];
    tensor<float> input(src.extents());
    std::copy_n(src.data(), src.numel(), input.data());
    std::vector<tensor<float>> values;
    values.reserve(g.size());
    auto value = [&](value_id v) -> const tensor<float>& {
        return v == graph_input ? input : values[static_cast<std::size_t>(v)];
    };
    for (const node& n : g.nodes()) {
        if (!n.is_bound()) throw error("reference::run: layer '" + n.name + "'", "has no weights bound");
        tensor<float> dst(dims{batch, n.output.c, n.output.h, n.output.w});
        const tensor<float>& x = value(n.inputs[0]);
        std::vector<const tensor<float>*> srcs;
        for (value_id v : n.inputs) srcs.push_back(&value(v));
        std::visit(
            [&](const auto& s) {
                using S = std::decay_t<decltype(s)>;
                if constexpr (std::is_same_v<S, conv2d_spec>)
                    conv2d(s, x, n.params, dst);
                else if constexpr (std::is_same_v<S, dense_spec>)
                    dense(s, x, n.params, dst);
                else if constexpr (std::is_same_v<S, pool2d_spec>)
                    pool2d(s, x, dst);
                else if constexpr (std::is_same_v<S, global_avg_pool_spec>)
                    global_avg_pool(x, dst);
                else if constexpr (std::is_same_v<S, batch_norm_spec>)
                    batch_norm(s, x, n.params, dst);
                else if constexpr (std::is_same_v<S, activation_spec>)
                    activation(s, x, dst);
                else if constexpr (std::is_same_v<S, gate_activation_spec>)
                    gate_activation(s, x, dst);
                else if constexpr (std::is_same_v<S, multiply_spec>)
                    multiply(x, *srcs[1], dst);
                else if constexpr (std::is_same_v<S, channel_shuffle_spec>)
                    channel_shuffle(s, x, dst);
                else if constexpr (std::is_same_v<S, channel_slice_spec>)
                    channel_slice(s, x, dst);
                else if constexpr (std::is_same_v<S, flatten_spec>)
                    std::copy_n(x.data(), x.numel(), dst.data());
                else if constexpr (std::is_same_v<S, softmax_spec>)
                    softmax(x, dst);
                else if constexpr (std::is_same_v<S, add_spec>)
                    add(srcs, dst);
                else if constexpr (std::is_same_v<S, concat_spec>)
                    concat(srcs, dst);
                else
                    static_assert(sizeof(S) == 0, "reference backend misses a layer kind");
            },
            n.spec);
        values.push_back(std::move(dst));
    }
    if (values.empty()) return input;
    return std::move(values.back());
}

}  // namespace stemshare::reference
