#pragma once
/// \file
/// Lowering of ONNX Conv (groups, strides, dilations, symmetric or asymmetric pads, auto_pad, a zero
/// Pad before it folded in) and
/// BatchNormalization (inference): each becomes one layer with its constant weights bound.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/io/onnx/constant.hpp>
#include <stemshare/io/onnx/import_context.hpp>
#include <stemshare/io/onnx/node.hpp>
#include <stemshare/io/onnx/ops_pad.hpp>
#include <stemshare/layers/batch_norm.hpp>
#include <stemshare/layers/conv2d.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::io::onnx_detail {

inline void lower_conv(import_context& ctx, const node_ctx& n) {
    const value& x = ctx.padded_layer_input(n, 0);  // a zero Pad before it joins its padding
    if (x.rank != 4) throw error(n.where, "input must be a rank-4 feature map");
    const constant& w = ctx.const_input(n, 1, "weight");
    if (w.shape.size() != 4)
        throw error(n.where, "weight has dims " + shape_text(w.shape) +
                                 "; only 2-D convolution (rank-4 weight) is supported");
    const auto dilations = attr_ints(n.proto, "dilations", {1, 1});
    if (dilations.size() != 2) throw error(n.where, "dilations must have 2 values");
    for (auto d : dilations)
        if (d < 1) throw error(n.where, "dilation " + std::to_string(d) + " is not positive");
    const auto kernel = attr_ints(n.proto, "kernel_shape", {w.shape[2], w.shape[3]});
    if (kernel.size() != 2 || kernel[0] != w.shape[2] || kernel[1] != w.shape[3])
        throw error(n.where, "kernel_shape " + shape_text(kernel) + " disagrees with the weight dims " +
                                 shape_text(w.shape));
    const auto strides = attr_ints(n.proto, "strides", {1, 1});
    if (strides.size() != 2) throw error(n.where, "strides must have 2 values");
    const shape in = padded_shape(ctx, x);
    // auto_pad SAME pads for the input extent the dilated kernel spans.
    const std::vector<std::int64_t> span{(kernel[0] - 1) * dilations[0] + 1,
                                         (kernel[1] - 1) * dilations[1] + 1};
    conv2d_spec spec{.out_channels = w.shape[0],
                     .kernel = {kernel[0], kernel[1]},
                     .stride = {strides[0], strides[1]},
                     .padding = with_pending_pad(pads(n, in, span, strides), x),
                     .dilation = {dilations[0], dilations[1]},
                     .groups = attr_int(n.proto, "group", 1),
                     .bias = has_input(n.proto, 2)};
    std::vector<tensor<float>> params;
    params.push_back(to_tensor(w, dims{w.shape[0], w.shape[1], w.shape[2], w.shape[3]}));
    if (spec.bias) {
        const constant& b = ctx.const_input(n, 2, "bias");
        if (b.numel() != spec.out_channels)
            throw error(n.where, "bias has dims " + shape_text(b.shape) + ", expected [" +
                                     std::to_string(spec.out_channels) + "]");
        params.push_back(to_tensor(b, dims{spec.out_channels}));
    }
    if (in.c != w.shape[1] * spec.groups)
        throw error(n.where, "weight dims " + shape_text(w.shape) + " with group " +
                                 std::to_string(spec.groups) + " need " +
                                 std::to_string(w.shape[1] * spec.groups) +
                                 " input channels, the input has " + std::to_string(in.c));
    ctx.define_layer(n, ctx.add_layer(n, spec, {x.id}, std::move(params)), 4);
}

inline void lower_batch_norm(import_context& ctx, const node_ctx& n) {
    const value& x = ctx.layer_input(n, 0);
    if (attr_int(n.proto, "training_mode", 0) != 0)
        throw error(n.where, "training_mode=1 is not supported (inference only)");
    ctx.only_first_output(n);
    const std::int64_t c = ctx.shape_of(x.id).c;
    std::vector<tensor<float>> params;
    const char* roles[] = {"scale", "bias", "mean", "var"};
    for (int i = 1; i <= 4; ++i) {
        const constant& p = ctx.const_input(n, i, roles[i - 1]);
        if (p.numel() != c)
            throw error(n.where, std::string(roles[i - 1]) + " has dims " + shape_text(p.shape) +
                                     ", expected [" + std::to_string(c) + "]");
        params.push_back(to_tensor(p, dims{c}));
    }
    ctx.define_layer(n,
                     ctx.add_layer(n, batch_norm_spec{.epsilon = attr_float(n.proto, "epsilon", 1e-5F)},
                                   {x.id}, std::move(params)),
                     x.rank);
}

}  // namespace stemshare::io::onnx_detail
