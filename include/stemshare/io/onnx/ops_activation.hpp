#pragma once
/// \file
/// Lowering of ONNX's element-wise activations and pass-through nodes: Relu, Sigmoid, Clip (as
/// relu6 or relu), HardSigmoid, HardSwish, Softmax over the channel axis, and Dropout / Identity
/// (no-ops at inference).

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <stemshare/core/error.hpp>
#include <stemshare/io/onnx/import_context.hpp>
#include <stemshare/io/onnx/node.hpp>
#include <stemshare/layers/activation.hpp>
#include <stemshare/layers/gate_activation.hpp>

namespace stemshare::io::onnx_detail {

inline void lower_relu(import_context& ctx, const node_ctx& n) {
    lower_unary(ctx, n, activation_spec{activation_kind::relu});
}

inline void lower_sigmoid(import_context& ctx, const node_ctx& n) {
    lower_unary(ctx, n, activation_spec{activation_kind::sigmoid});
}

/// HardSigmoid: clip(alpha * x + beta, 0, 1); ONNX's defaults are 0.2 and 0.5, PyTorch exports
/// nn.Hardsigmoid with alpha 1/6.
inline void lower_hard_sigmoid(import_context& ctx, const node_ctx& n) {
    const gate_activation_spec spec{.kind = gate_kind::hard_sigmoid,
                                    .alpha = attr_float(n.proto, "alpha", 0.2F),
                                    .beta = attr_float(n.proto, "beta", 0.5F)};
    lower_unary(ctx, n, spec);
}

/// HardSwish (opset 14): x * relu6(x + 3) / 6. Below opset 14 PyTorch writes it as
/// Mul(x, HardSigmoid(x)), which imports as those two layers.
inline void lower_hard_swish(import_context& ctx, const node_ctx& n) {
    lower_unary(ctx, n, gate_activation_spec{gate_kind::hard_swish});
}

/// Clip(0, 6) is relu6 and Clip(0, none) is relu; other bounds have no layer. The bounds are
/// attributes before opset 11 and constant inputs since.
inline void lower_clip(import_context& ctx, const node_ctx& n) {
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (ctx.opset() < 11) {
        lo = attr_float(n.proto, "min", lo);
        hi = attr_float(n.proto, "max", hi);
    } else {
        // A bound is a scalar; an empty or longer tensor (a fuzzer found the empty one) is refused.
        const auto bound = [&](int input, const char* what) {
            const constant& c = ctx.const_input(n, input, what);
            if (c.values.size() != 1)
                throw error(n.where, std::string("Clip ") + what + " must hold one value, not " +
                                         std::to_string(c.values.size()));
            return static_cast<float>(c.values[0]);
        };
        if (has_input(n.proto, 1)) lo = bound(1, "min");
        if (has_input(n.proto, 2)) hi = bound(2, "max");
    }
    if (lo == 0.0F && hi == 6.0F) return lower_unary(ctx, n, activation_spec{activation_kind::relu6});
    if (lo == 0.0F && std::isinf(hi) && hi > 0)
        return lower_unary(ctx, n, activation_spec{activation_kind::relu});
    throw error(n.where, "Clip(" + std::to_string(lo) + ", " + std::to_string(hi) +
                             ") is not supported; only Clip(0, 6) (relu6) and Clip(0, none) (relu) are");
}

/// Softmax over the channel / class axis 1. Before opset 13 Softmax flattened from `axis` on, so
/// axis 1 of a feature map is the channel softmax only when the map is flat.
inline void lower_softmax(import_context& ctx, const node_ctx& n) {
    const value& x = ctx.layer_input(n, 0);
    auto axis = attr_int(n.proto, "axis", ctx.opset() >= 13 ? -1 : 1);
    if (axis < 0) axis += static_cast<std::int64_t>(x.rank);
    const bool flat = ctx.shape_of(x.id).is_flat();
    const bool channels = axis == 1 && (x.rank == 2 || ctx.opset() >= 13 || flat);
    if (!channels)
        throw error(n.where, "Softmax over axis " + std::to_string(axis) + " of a rank-" +
                                 std::to_string(x.rank) +
                                 " tensor is not supported; only the channel / class axis 1 is");
    ctx.define_layer(n, ctx.add_layer(n, softmax_spec{}, {x.id}, {}), x.rank);
}

/// Dropout and Identity: the output is the input (a Dropout's mask output must be unused).
inline void lower_pass_through(import_context& ctx, const node_ctx& n) {
    ctx.only_first_output(n);
    ctx.define(n, 0, ctx.padded_input(n, 0));  // a pending zero Pad passes through too
}

}  // namespace stemshare::io::onnx_detail
