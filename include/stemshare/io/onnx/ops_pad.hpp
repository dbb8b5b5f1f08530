#pragma once
/// \file
/// Lowering of ONNX Pad: a zero padding of height and width is not a layer of its own but is
/// folded into the padding of the Conv, MaxPool or AveragePool that reads it, where that is exact
/// (PyTorch exports AvgPool2d(count_include_pad=True) and F.pad before a conv so; DenseNet's
/// transitions emit an all-zero Pad, which is no padding at all).
///
/// Pad leaves its output pending (`value::pad`): a Conv adds it to its own padding (exact: a conv
/// pads with zeros too); an AveragePool takes it in with count_include_pad, exact where the pool
/// has no padding of its own or counts its own padding too (every padded pixel then counts, as
/// the explicit zeros did); a MaxPool takes it in only where its input cannot be negative (after
/// a relu, relu6, sigmoid or hard-sigmoid), where a zero is never above a window's maximum and
/// every window still covers an input pixel (the pooling's own rule: padding < kernel). Any other
/// reader, a padding that is not zero, not constant, on the batch or channels, or negative
/// (cropping) is refused, naming the Pad node. The pads subgraph torch writes for F.pad
/// (ConstantOfShape, Concat, Reshape, Slice with step -1, Transpose, Reshape, Cast) folds to the
/// constant pads; ConstantOfShape and Reshape of constants are folded here.

#include <cstdint>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/io/onnx/constant.hpp>
#include <stemshare/io/onnx/decode_tensor.hpp>
#include <stemshare/io/onnx/import_context.hpp>
#include <stemshare/io/onnx/node.hpp>
#include <stemshare/layers/geometry.hpp>
#include <stemshare/layers/pool2d.hpp>

namespace stemshare::io::onnx_detail {

/// Pad, mode constant, value 0, on the height and width of a feature map. Pads are attribute
/// `pads` below opset 11 and a constant input from it; opset 18's `axes` input is refused.
inline void lower_pad(import_context& ctx, const node_ctx& n) {
    const value& x = ctx.padded_layer_input(n, 0);
    if (x.rank != 4)
        throw error(n.where, "Pad of a rank-" + std::to_string(x.rank) + " tensor is not supported");
    const std::string mode = attr_string(n.proto, "mode", "constant");
    if (mode != "constant")
        throw error(n.where, "Pad mode '" + mode + "' is not supported; only a constant zero padding is");
    std::vector<std::int64_t> p;
    double fill = 0.0;
    if (ctx.opset() < 11) {
        p = attr_ints(n.proto, "pads", {});
        fill = attr_float(n.proto, "value", 0.0F);
    } else {
        if (has_input(n.proto, 3))
            throw error(n.where,
                        "Pad with an axes input (opset 18) is not supported; export at opset 17 or lower");
        if (!has_input(n.proto, 1)) throw error(n.where, "misses its pads input");
        const value& pads_value = ctx.input(n, 1);
        if (pads_value.what != value::kind::constant)
            throw error(n.where, "pads '" + n.proto.input(1) +
                                     "' are computed from the image; stemshare folds only constant pads");
        for (std::size_t i = 0; i < pads_value.data.values.size(); ++i)
            p.push_back(pads_value.data.as_int(i));
        if (has_input(n.proto, 2)) {
            const constant& c = ctx.const_input(n, 2, "constant_value");
            if (c.values.size() != 1) throw error(n.where, "constant_value must hold one value");
            fill = c.values[0];
        }
    }
    if (fill != 0.0)
        throw error(n.where,
                    "Pad with value " + std::to_string(fill) +
                        " is not supported; only a zero padding (folded into the next Conv or pooling) is");
    if (p.size() != 8) throw error(n.where, "pads must have 8 values (begin and end of N, C, H, W)");
    // ONNX order: [N_begin, C_begin, H_begin, W_begin, N_end, C_end, H_end, W_end].
    if (p[0] != 0 || p[1] != 0 || p[4] != 0 || p[5] != 0)
        throw error(n.where,
                    "pads " + shape_text(p) +
                        " pad the batch or channel axis; stemshare folds only a padding of height and width");
    for (const auto v : p)
        if (v < 0)
            throw error(n.where,
                        "pads " + shape_text(p) + " crop (a negative pad); stemshare folds only a padding");
    value out = x;
    out.pad = padding4{x.pad.top + p[2], x.pad.left + p[3], x.pad.bottom + p[6], x.pad.right + p[7]};
    if (out.pad != padding4{0}) out.pad_node = x.pad_node.empty() ? n.name : x.pad_node + "' and '" + n.name;
    ctx.define(n, 0, out);
}

/// ConstantOfShape on a constant shape: the pads subgraph torch emits for F.pad starts with one.
inline constant fold_constant_of_shape(const import_context& ctx, const node_ctx& n) {
    const constant& shape_in = ctx.input(n, 0).data;
    constant out;
    out.integer = false;
    double fill = 0.0;
    if (const auto* a = attr(n.proto, "value"); a && a->has_t()) {
        const constant v = decode_tensor(a->t(), ctx.base_dir(), n.where);
        if (v.values.size() != 1) throw error(n.where, "ConstantOfShape value must hold one element");
        fill = v.values[0];
        out.integer = v.integer;
    }
    std::int64_t count = 1;
    for (std::size_t i = 0; i < shape_in.values.size(); ++i) {
        const std::int64_t d = shape_in.as_int(i);
        if (d < 0 || shape_in.values[i] == static_cast<double>(batch_extent))
            throw error(n.where, "ConstantOfShape needs a constant shape without negative or batch extents");
        out.shape.push_back(d);
        count *= d;
    }
    if (count > 4096)
        throw error(n.where,
                    "ConstantOfShape of " + std::to_string(count) + " elements is not shape arithmetic");
    out.values.assign(static_cast<std::size_t>(count), fill);
    return out;
}

/// Reshape of a constant to a constant shape (-1 and 0 as ONNX defines them): in F.pad's
/// subgraph, the pads become [k, 2] pairs and back.
inline constant fold_reshape(const import_context& ctx, const node_ctx& n) {
    const constant& data = ctx.input(n, 0).data;
    const constant& target = ctx.input(n, 1).data;
    const bool allow_zero = attr_int(n.proto, "allowzero", 0) != 0;
    constant out;
    out.integer = data.integer;
    out.values = data.values;
    std::int64_t known = 1;
    int infer = -1;
    for (std::size_t i = 0; i < target.values.size(); ++i) {
        std::int64_t d = target.as_int(i);
        if (d == 0 && !allow_zero) {
            if (i >= data.shape.size())
                throw error(n.where, "Reshape copies an extent the input does not have");
            d = data.shape[i];
        }
        if (d == -1) {
            if (infer >= 0) throw error(n.where, "Reshape target has two -1 extents");
            infer = static_cast<int>(i);
        } else if (d < 0) {
            throw error(n.where, "Reshape target extent " + std::to_string(d) + " is negative");
        } else {
            known *= d;
        }
        out.shape.push_back(d);
    }
    const auto count = static_cast<std::int64_t>(data.values.size());
    if (infer >= 0) {
        if (known == 0 || count % known != 0)
            throw error(n.where,
                        "Reshape of " + std::to_string(count) + " values to " + shape_text(out.shape));
        out.shape[static_cast<std::size_t>(infer)] = count / known;
    } else if (known != count) {
        throw error(n.where, "Reshape of " + std::to_string(count) + " values to " + shape_text(out.shape));
    }
    return out;
}

/// The shape a node reads from `x`: its layer's output with any pending zero padding added.
[[nodiscard]] inline shape padded_shape(const import_context& ctx, const value& x) {
    const shape s = ctx.shape_of(x.id);
    return {s.c, s.h + x.pad.top + x.pad.bottom, s.w + x.pad.left + x.pad.right};
}

/// `own` with the pending zero padding of `x` added.
[[nodiscard]] inline padding4 with_pending_pad(const padding4& own, const value& x) {
    return {own.top + x.pad.top, own.left + x.pad.left, own.bottom + x.pad.bottom, own.right + x.pad.right};
}

/// Folds the pending zero padding of `x` into pooling `spec` (computed for the padded input), or
/// refuses where the result would differ from pooling the explicitly padded tensor.
inline void fold_pad_into_pool(const import_context& ctx, const node_ctx& n, const value& x,
                               pool2d_spec& spec) {
    if (x.pad_node.empty()) return;
    if (spec.kind == pool_kind::max) {
        if (!ctx.non_negative(x.id))
            throw error(n.where,
                        "the zero Pad '" + x.pad_node +
                            "' before this MaxPool cannot be folded exactly: its input may be negative "
                            "(max pooling pads with -inf, not 0); stemshare folds it only after a Relu, "
                            "Clip(0, 6), Sigmoid or HardSigmoid");
    } else {
        if (!spec.count_include_pad && spec.padding != padding4{0})
            throw error(n.where,
                        "the zero Pad '" + x.pad_node +
                            "' before this AveragePool with pads of its own and count_include_pad=0 "
                            "cannot be folded: the average would count the Pad's zeros but not its own");
        spec.count_include_pad = true;  // the explicit zeros count in every window
    }
    spec.padding = with_pending_pad(spec.padding, x);
}

}  // namespace stemshare::io::onnx_detail
