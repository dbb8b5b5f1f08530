#pragma once
/// \file
/// Lowering of the ONNX nodes that join or reshape computed tensors: Add (residual), Mul (same
/// shape or per channel), Concat on the channel axis, Flatten (axis 1) and Reshape to a constant
/// shape that is a flatten.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/io/onnx/constant.hpp>
#include <stemshare/io/onnx/import_context.hpp>
#include <stemshare/io/onnx/node.hpp>
#include <stemshare/layers/flatten.hpp>
#include <stemshare/layers/merge.hpp>
#include <stemshare/layers/multiply.hpp>

namespace stemshare::io::onnx_detail {

/// Add of two computed tensors (a residual). A constant Add right after a MatMul was taken in as
/// its bias (ops_dense.hpp) and never reaches here.
inline void lower_add(import_context& ctx, const node_ctx& n) {
    const value& a = ctx.input(n, 0);
    const value& b = ctx.input(n, 1);
    if (a.what != value::kind::layer || b.what != value::kind::layer)
        throw error(n.where, "adding a constant tensor is supported only as the bias right after a MatMul");
    if (a.rank != b.rank) throw error(n.where, "inputs have different ranks");
    ctx.define_layer(n, ctx.add_layer(n, add_spec{}, {a.id, b.id}, {}), a.rank);
}

/// Mul of two computed tensors of one shape (SiLU as x * Sigmoid(x), hard-swish below opset 14)
/// or of a tensor by one value per channel (a squeeze-and-excitation gate), in either order:
/// the product commutes, and the layer takes the per-channel factor second.
inline void lower_mul(import_context& ctx, const node_ctx& n) {
    const value& a = ctx.input(n, 0);
    const value& b = ctx.input(n, 1);
    if (a.what != value::kind::layer || b.what != value::kind::layer)
        throw error(n.where, "multiplying by a constant tensor is not supported; only the product of two "
                             "computed tensors (same shape, or one value per channel) is");
    if (a.rank != b.rank) throw error(n.where, "inputs have different ranks");
    const shape sa = ctx.shape_of(a.id);
    const shape sb = ctx.shape_of(b.id);
    const bool a_per_channel = sa != sb && sa.h == 1 && sa.w == 1;
    const value& full = a_per_channel ? b : a;
    const value& factor = a_per_channel ? a : b;
    ctx.define_layer(n, ctx.add_layer(n, multiply_spec{}, {full.id, factor.id}, {}), full.rank);
}

inline void lower_concat(import_context& ctx, const node_ctx& n) {
    std::vector<value_id> ins;
    std::size_t rank = 0;
    for (int i = 0; i < n.proto.input_size(); ++i) {
        const value& v = ctx.layer_input(n, i);
        if (i > 0 && v.rank != rank) throw error(n.where, "inputs have different ranks");
        rank = v.rank;
        ins.push_back(v.id);
    }
    auto axis = attr_int(n.proto, "axis", 1);
    if (axis < 0) axis += static_cast<std::int64_t>(rank);
    if (axis != 1)
        throw error(n.where, "Concat along axis " + std::to_string(axis) +
                                 " is not supported; only the channel axis 1 is");
    // DenseNet's first dense layer concatenates a single tensor: that is the tensor itself.
    if (ins.size() == 1) return ctx.define(n, 0, ctx.layer_input(n, 0));
    ctx.define_layer(n, ctx.add_layer(n, concat_spec{}, ins, {}), rank);
}

inline void lower_flatten(import_context& ctx, const node_ctx& n) {
    const value& x = ctx.layer_input(n, 0);
    auto axis = attr_int(n.proto, "axis", 1);
    if (axis < 0) axis += static_cast<std::int64_t>(x.rank);
    if (axis != 1)
        throw error(n.where, "Flatten with axis " + std::to_string(axis) +
                                 " is not supported; only axis 1 (keep the batch) is");
    if (x.rank == 2) return ctx.define(n, 0, x);
    ctx.define_layer(n, ctx.add_layer(n, flatten_spec{}, {x.id}, {}), 2);
}

/// Reshape to [N, -1] or [N, C*H*W] (a flatten), or of a flat value to [N, K, 1, 1] (a no-op).
/// The target must be constant; a leading extent equal to the file's batch counts as N.
inline void lower_reshape(import_context& ctx, const node_ctx& n) {
    const value& x = ctx.layer_input(n, 0);
    const value& target_value = ctx.input(n, 1);
    if (target_value.what != value::kind::constant)
        throw error(n.where, "the target shape '" + n.proto.input(1) +
                                 "' is not a constant; stemshare supports Reshape only to a constant shape");
    const constant& target = target_value.data;
    const auto in = ctx.onnx_shape(x);
    const bool allow_zero = attr_int(n.proto, "allowzero", 0) != 0;
    std::vector<std::int64_t> t;
    for (std::size_t i = 0; i < target.values.size(); ++i) {
        std::int64_t d = target.as_int(i);
        if (target.values[i] == static_cast<double>(batch_extent)) d = batch_extent;
        if (d == 0 && !allow_zero && i < in.size()) d = in[i];
        t.push_back(d);
    }
    const std::int64_t per_image = ctx.shape_of(x.id).numel();
    const bool batch_first =
        !t.empty() && (t[0] == batch_extent || (ctx.input_batch() > 0 && t[0] == ctx.input_batch()));
    const bool is_flatten = t.size() == 2 && batch_first && (t[1] == -1 || t[1] == per_image);
    const bool is_unflatten =
        t.size() == 4 && batch_first && (t[1] == per_image || t[1] == -1) && t[2] == 1 && t[3] == 1;
    if (!is_flatten && !(is_unflatten && ctx.shape_of(x.id).is_flat()))
        throw error(n.where,
                    "Reshape of " + shape_text(in) + " to " + shape_text(t) +
                        " is not a flatten; stemshare supports Reshape only to [N, -1] (or [N, C*H*W])");
    if (is_unflatten || x.rank == 2) {
        value v = x;
        v.rank = t.size();
        return ctx.define(n, 0, v);
    }
    ctx.define_layer(n, ctx.add_layer(n, flatten_spec{}, {x.id}, {}), 2);
}

}  // namespace stemshare::io::onnx_detail
