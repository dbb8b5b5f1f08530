#pragma once
/// \file
/// Lowering of ONNX MaxPool (dilations included), AveragePool (count_include_pad; ceil_mode where it does not
/// change an average's size; a zero Pad before either folded in where exact, ops_pad.hpp) and
/// GlobalAveragePool.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/io/onnx/import_context.hpp>
#include <stemshare/io/onnx/node.hpp>
#include <stemshare/io/onnx/ops_pad.hpp>
#include <stemshare/layers/pool2d.hpp>

namespace stemshare::io::onnx_detail {

/// MaxPool (`is_max`) or AveragePool.
inline void lower_pool(import_context& ctx, const node_ctx& n, bool is_max) {
    const value& x = ctx.padded_layer_input(n, 0);  // a zero Pad before it joins its padding where exact
    if (x.rank != 4) throw error(n.where, "input must be a rank-4 feature map");
    ctx.only_first_output(n);
    const auto kernel = attr_ints(n.proto, "kernel_shape", {});
    if (kernel.size() != 2) throw error(n.where, "kernel_shape must have 2 values");
    const auto strides = attr_ints(n.proto, "strides", {1, 1});
    if (strides.size() != 2) throw error(n.where, "strides must have 2 values");
    // MaxPool has dilations from opset 10; AveragePool only from 19, which stemshare does not take.
    const auto dilations = attr_ints(n.proto, "dilations", {1, 1});
    if (dilations.size() != 2) throw error(n.where, "dilations must have 2 values");
    for (auto d : dilations) {
        if (d < 1) throw error(n.where, "dilation " + std::to_string(d) + " is not positive");
        if (d != 1 && !is_max)
            throw error(n.where, "a dilated AveragePool (dilation " + std::to_string(d) +
                                     ") is not supported; only MaxPool may be dilated");
    }
    const shape in = padded_shape(ctx, x);
    pool2d_spec spec{.kind = is_max ? pool_kind::max : pool_kind::avg,
                     .kernel = {kernel[0], kernel[1]},
                     .stride = {strides[0], strides[1]},
                     .count_include_pad = attr_int(n.proto, "count_include_pad", 0) != 0,
                     .dilation = {dilations[0], dilations[1]}};
    // auto_pad SAME pads for the input extent the dilated window spans.
    const extent2 span = spec.span();
    spec.padding = pads(n, in, {span.h, span.w}, strides);
    if (attr_int(n.proto, "ceil_mode", 0) != 0) {
        // Ceil mode adds one more window where it still starts inside the input or the
        // leading pad; for max pooling that is the same as extra padding at the end.
        auto ceil_out = [](std::int64_t size, std::int64_t before, std::int64_t after, std::int64_t k,
                           std::int64_t s) {
            std::int64_t out = (size + before + after - k + s - 1) / s + 1;
            if ((out - 1) * s >= size + before) --out;
            return out;
        };
        const auto oh = ceil_out(in.h, spec.padding.top, spec.padding.bottom, span.h, spec.stride.h);
        const auto ow = ceil_out(in.w, spec.padding.left, spec.padding.right, span.w, spec.stride.w);
        const shape floor_shape = spec.output_shape(in);
        if (oh != floor_shape.h || ow != floor_shape.w) {
            if (!is_max)
                throw error(
                    n.where,
                    "ceil_mode=1 changes the output size of this AveragePool, which is not supported");
            spec.padding.bottom +=
                (oh - 1) * spec.stride.h + span.h - (in.h + spec.padding.top + spec.padding.bottom);
            spec.padding.right +=
                (ow - 1) * spec.stride.w + span.w - (in.w + spec.padding.left + spec.padding.right);
        }
    }
    fold_pad_into_pool(ctx, n, x, spec);
    ctx.define_layer(n, ctx.add_layer(n, spec, {x.id}, {}), 4);
}

inline void lower_max_pool(import_context& ctx, const node_ctx& n) {
    lower_pool(ctx, n, true);
}

inline void lower_average_pool(import_context& ctx, const node_ctx& n) {
    lower_pool(ctx, n, false);
}

inline void lower_global_average_pool(import_context& ctx, const node_ctx& n) {
    lower_unary(ctx, n, global_avg_pool_spec{});
}

/// ReduceMean or ReduceMax over exactly height and width of an NCHW tensor (MnasNet's head, a
/// squeeze-and-excitation's squeeze): a global average or max pooling; keepdims 0 leaves [N, C].
/// Axes are an attribute up to opset 17 (an input from 18: refused by name).
inline void lower_reduce_hw(import_context& ctx, const node_ctx& n) {
    const value& x = ctx.layer_input(n, 0);
    const std::string& op = n.proto.op_type();
    if (x.rank != 4)
        throw error(n.where, op + " of a rank-" + std::to_string(x.rank) + " tensor is not supported");
    if (has_input(n.proto, 1))
        throw error(
            n.where,
            op + " with its axes as an input (opset 18) is not supported; export at opset 17 or lower");
    std::vector<std::int64_t> axes = attr_ints(n.proto, "axes", {});
    for (auto& a : axes)
        if (a < 0) a += 4;
    std::sort(axes.begin(), axes.end());
    if (axes != std::vector<std::int64_t>{2, 3})
        throw error(n.where, op + " over axes other than height and width (2, 3) is not supported");
    const shape in = ctx.shape_of(x.id);
    const layer_spec spec =
        op == "ReduceMax"
            ? layer_spec{pool2d_spec{.kind = pool_kind::max, .kernel = extent2{in.h, in.w}, .stride = 1}}
            : layer_spec{global_avg_pool_spec{}};
    const std::size_t rank = attr_int(n.proto, "keepdims", 1) != 0 ? 4 : 2;
    ctx.define_layer(n, ctx.add_layer(n, spec, {x.id}, {}), rank);
}

}  // namespace stemshare::io::onnx_detail
