#pragma once
/// \file
/// Lowering of ONNX Gemm (alpha = beta = 1, transA = 0) and MatMul with a constant right side into
/// a dense layer. A MatMul whose only reader is an Add of a constant takes that Add in as its bias
/// (how PyTorch writes a linear layer by hand).

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/io/onnx/constant.hpp>
#include <stemshare/io/onnx/import_context.hpp>
#include <stemshare/io/onnx/node.hpp>
#include <stemshare/layers/dense.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::io::onnx_detail {

/// Rejects a left operand that is not a rank-2 value whose per-image size is K.
inline void check_features(const import_context& ctx, const node_ctx& n, const value& a, std::int64_t k) {
    if (a.rank != 2)
        throw error(n.where, "left input must be a rank-2 [N, K] tensor (flatten the feature map first)");
    if (ctx.shape_of(a.id).numel() != k)
        throw error(n.where, "left input has " + std::to_string(ctx.shape_of(a.id).numel()) +
                                 " features, the weight expects " + std::to_string(k));
}

/// The dense layer's {out, k} weight from an ONNX matrix ({out, k} when `transposed`, else
/// {k, out}) and its bias, broadcast from a scalar if need be.
inline std::vector<tensor<float>> dense_params(const constant& w, bool transposed, const constant* bias,
                                               std::int64_t out, std::int64_t k, const node_ctx& n) {
    tensor<float> weight(dims{out, k});
    for (std::int64_t o = 0; o < out; ++o)
        for (std::int64_t i = 0; i < k; ++i)
            weight[o * k + i] =
                static_cast<float>(w.values[static_cast<std::size_t>(transposed ? o * k + i : i * out + o)]);
    std::vector<tensor<float>> params;
    params.push_back(std::move(weight));
    if (bias) {
        if (bias->numel() != out && bias->numel() != 1)
            throw error(n.where, "bias has dims " + shape_text(bias->shape) + ", expected [" +
                                     std::to_string(out) + "]");
        tensor<float> b(dims{out});
        for (std::int64_t o = 0; o < out; ++o)
            b[o] = static_cast<float>(bias->values[bias->numel() == 1 ? 0 : static_cast<std::size_t>(o)]);
        params.push_back(std::move(b));
    }
    return params;
}

inline void lower_gemm(import_context& ctx, const node_ctx& n) {
    if (attr_float(n.proto, "alpha", 1.0F) != 1.0F || attr_float(n.proto, "beta", 1.0F) != 1.0F)
        throw error(n.where, "alpha and beta other than 1 are not supported");
    if (attr_int(n.proto, "transA", 0) != 0) throw error(n.where, "transA=1 is not supported");
    const value& a = ctx.layer_input(n, 0);
    const constant& w = ctx.const_input(n, 1, "weight B");
    if (w.shape.size() != 2)
        throw error(n.where, "weight B has dims " + shape_text(w.shape) + ", expected a matrix");
    const bool trans_b = attr_int(n.proto, "transB", 0) != 0;
    const std::int64_t out = trans_b ? w.shape[0] : w.shape[1];
    const std::int64_t k = trans_b ? w.shape[1] : w.shape[0];
    check_features(ctx, n, a, k);
    const constant* bias = has_input(n.proto, 2) ? &ctx.const_input(n, 2, "bias C") : nullptr;
    ctx.define_layer(n,
                     ctx.add_layer(n, dense_spec{.out_features = out, .bias = bias != nullptr}, {a.id},
                                   dense_params(w, trans_b, bias, out, k, n)),
                     2);
}

inline void lower_matmul(import_context& ctx, const node_ctx& n) {
    const value& a = ctx.layer_input(n, 0);
    const constant& w = ctx.const_input(n, 1, "right operand");
    if (w.shape.size() != 2)
        throw error(n.where, "right operand has dims " + shape_text(w.shape) + ", expected a matrix");
    const std::int64_t k = w.shape[0], out = w.shape[1];
    check_features(ctx, n, a, k);
    // The first later Add that reads the result is its bias when its other side is a constant of
    // the right size and nothing else reads the MatMul.
    const auto& nodes = ctx.model().graph().node();
    const std::string& result = n.proto.output(0);
    const constant* bias = nullptr;
    int bias_node = -1;
    if (ctx.readers(result) == 1)
        for (int j = n.index + 1; j < nodes.size(); ++j) {
            const auto& c = nodes[j];
            if (c.op_type() != "Add" || c.input_size() != 2 || (c.input(0) != result && c.input(1) != result))
                continue;
            const value* other = ctx.find(c.input(0) == result ? c.input(1) : c.input(0));
            if (other && other->what == value::kind::constant &&
                (other->data.numel() == out || other->data.numel() == 1)) {
                bias = &other->data;
                bias_node = j;
            }
            break;
        }
    const value_id id = ctx.add_layer(n, dense_spec{.out_features = out, .bias = bias != nullptr}, {a.id},
                                      dense_params(w, false, bias, out, k, n));
    ctx.define_layer(n, id, 2);
    if (bias_node >= 0) {
        ctx.fuse(bias_node);
        ctx.set_value(nodes[bias_node].output(0), layer_value(id, 2));
    }
}

}  // namespace stemshare::io::onnx_detail
