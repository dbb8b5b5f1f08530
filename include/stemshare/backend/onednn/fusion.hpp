#pragma once
/// \file
/// Which layers run inside the primitive of the layer before them (oneDNN post-ops):
/// conv -> activation, conv -> residual add [-> activation] (a sum or a binary post-op, chosen in
/// lower_conv.hpp), dense -> activation, and a 1x1 conv [-> activation] -> 3x3 stride-2 depthwise
/// conv [-> activation] (oneDNN's `dw_k3s2p1` post-op). The lowering of a conv or dense layer asks
/// here what follows it; a layer fused into another is absorbed and gets no step of its own.

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/lowering.hpp>
#include <stemshare/graph/graph.hpp>

namespace stemshare::onednn::detail {

/// oneDNN's eltwise algorithm of an activation, with its alpha and beta.
inline dnnl::algorithm eltwise_algorithm(activation_kind k, float& alpha, float& beta) {
    alpha = 0.0F;
    beta = 0.0F;
    switch (k) {
        case activation_kind::relu:
            return dnnl::algorithm::eltwise_relu;
        case activation_kind::relu6:
            beta = 6.0F;
            return dnnl::algorithm::eltwise_clip;
        case activation_kind::sigmoid:
            return dnnl::algorithm::eltwise_logistic;
    }
    return dnnl::algorithm::eltwise_relu;
}

/// One oneDNN eltwise operation.
struct eltwise_op {
    dnnl::algorithm algorithm = dnnl::algorithm::eltwise_relu;
    float alpha = 0.0F;
    float beta = 0.0F;
};

/// The eltwise operations computing a gate activation, in order. oneDNN 2.6 has no hard-sigmoid:
/// it is `linear(alpha, beta)` then `clip(0, 1)`, exact as both round once per operation, as the
/// reference does in double. Its `hardswish` is PyTorch's `x * relu6(x + 3) / 6` (alpha and beta
/// ignored) and `swish` with alpha 1 is SiLU.
inline std::vector<eltwise_op> gate_eltwise_ops(const gate_activation_spec& s) {
    switch (s.kind) {
        case gate_kind::hard_sigmoid:
            return {{dnnl::algorithm::eltwise_linear, s.alpha, s.beta},
                    {dnnl::algorithm::eltwise_clip, 0.0F, 1.0F}};
        case gate_kind::hard_swish:
            return {{dnnl::algorithm::eltwise_hardswish, 0.0F, 0.0F}};
        case gate_kind::silu:
            return {{dnnl::algorithm::eltwise_swish, 1.0F, 0.0F}};
    }
    return {};
}

/// Appends activation `act` (a layer spec holding an activation_spec or a gate_activation_spec)
/// to `po` and to the primitive-cache `key`.
inline void append_activation(const layer_spec& act, dnnl::post_ops& po, std::string& key) {
    if (const auto* g = std::get_if<gate_activation_spec>(&act)) {
        for (const eltwise_op& op : gate_eltwise_ops(*g))
            po.append_eltwise(1.0F, op.algorithm, op.alpha, op.beta);
    } else {
        float alpha = 0;
        float beta = 0;
        const auto alg = eltwise_algorithm(std::get<activation_spec>(act).kind, alpha, beta);
        po.append_eltwise(1.0F, alg, alpha, beta);
    }
    key += "|" + describe(act);
}

/// What runs inside conv node `i`'s primitive: conv -> add(other) [-> activation], or conv ->
/// activation. An add is fused only when its other operand was computed before the conv.
struct conv_post_ops {
    std::optional<std::size_t> add_node;
    value_id other = graph_input;  ///< the add's other operand
    std::optional<std::size_t> act_node;

    /// The last node the conv's primitive computes.
    [[nodiscard]] std::size_t last(std::size_t conv) const {
        return act_node ? *act_node : add_node ? *add_node : conv;
    }
};

inline conv_post_ops match_conv_post_ops(const lowering& cx, std::size_t i) {
    conv_post_ops f;
    const auto next = cx.sole_consumer(static_cast<value_id>(i));
    if (!next) return f;
    const node& c = cx.node_at(*next);
    if (std::holds_alternative<add_spec>(c.spec) && c.inputs.size() == 2) {
        f.other = c.inputs[0] == static_cast<value_id>(i) ? c.inputs[1] : c.inputs[0];
        if (f.other != static_cast<value_id>(i) && f.other < static_cast<value_id>(i)) f.add_node = *next;
    }
    if (f.add_node) {
        if (cx.activation_at(cx.sole_consumer(static_cast<value_id>(*f.add_node))))
            f.act_node = cx.sole_consumer(static_cast<value_id>(*f.add_node));
    } else if (cx.activation_at(next)) {
        f.act_node = next;
    }
    return f;
}

/// The activation that runs inside dense node `i`'s primitive, if one follows it.
inline std::optional<std::size_t> match_dense_activation(const lowering& cx, std::size_t i) {
    const auto next = cx.sole_consumer(static_cast<value_id>(i));
    return cx.activation_at(next) ? next : std::nullopt;
}

/// A depthwise conv run inside the 1x1 conv before it (see fused_depthwise).
struct depthwise_fusion {
    cached_primitive primitive;
    std::size_t conv = 0;  ///< the depthwise conv's node
    std::size_t last = 0;  ///< its activation's node when fused too, else `conv`
    std::string key;       ///< the fused primitive's cache key
};

/// 1x1 conv [-> activation] -> depthwise 3x3, stride 2, padding 1 [-> activation], f32, neither
/// dilated (the `dw_k3s2p1` post-op has no dilation): oneDNN's
/// 1x1 kernel can compute the depthwise conv from the rows it has just produced, so the 1x1 conv's
/// wide output never goes to memory (a MobileNet expansion before a downsampling depthwise: up to
/// 2x faster for the pair at 112x112 here). Used only where oneDNN has such a kernel: it also
/// offers a reference "fused" one that runs the two convs one after another; and the caller
/// fuses the pair only where its bits match the unfused pair's (lower_conv.hpp,
/// `fused_matches_unfused`). `key` is the 1x1 conv's own cache key, `last_fused` the last node its
/// own post-ops compute (the conv, or an activation after it), and `make(attr)` creates the 1x1
/// conv's primitive with other attributes.
template <class Make>
std::optional<depthwise_fusion> fused_depthwise(lowering& cx, const node& n, const conv2d_spec& s,
                                                std::size_t last_fused, const std::string& key,
                                                const Make& make) {
    // oneDNN 2.6's fused kernel reads the 1x1 conv's bias unconditionally (it crashes without
    // one); folded batch-norms give every conv of the zoo one.
    if (cx.activation_type() != dt::f32 || !s.bias || s.groups != 1 || s.kernel != extent2{1} ||
        s.stride != extent2{1} || s.padding != padding4{0} || s.dilation != extent2{1})
        return std::nullopt;
    const auto d = cx.sole_consumer(static_cast<value_id>(last_fused));
    const auto* ds = d ? std::get_if<conv2d_spec>(&cx.node_at(*d).spec) : nullptr;
    if (ds == nullptr || ds->groups != s.out_channels || ds->out_channels != s.out_channels ||
        ds->kernel != extent2{3} || ds->stride != extent2{2} || ds->padding.top != 1 ||
        ds->padding.left != 1 || ds->dilation != extent2{1})
        return std::nullopt;
    depthwise_fusion f{{}, *d, *d, {}};
    if (const auto a = cx.sole_consumer(static_cast<value_id>(*d)); cx.activation_at(a)) f.last = *a;
    if (cx.output_type(f.last) != dt::f32) return std::nullopt;
    // Built anew: a copy of a dnnl::post_ops shares (and appending would change) the original.
    dnnl::post_ops fused;
    std::string unused_key;  // `key` already names the 1x1 conv's activation
    if (cx.activation_at(last_fused)) append_activation(cx.node_at(last_fused).spec, fused, unused_key);
    fused.append_dw_k3s2p1(dt::f32, dt::f32, dt::f32, 0, {});
    std::string fused_key = key + "|dw" + describe(cx.node_at(*d).spec);
    if (f.last != f.conv) append_activation(cx.node_at(f.last).spec, fused, fused_key);
    dnnl::primitive_attr attr = base_attr();
    attr.set_post_ops(fused);
    try {
        f.primitive = cx.create(fused_key, n, [&] { return make(attr); });
    } catch (const error&) {
        return std::nullopt;  // no fused kernel for this shape: two steps
    }
    f.key = fused_key;
    if (std::string(f.primitive.pd.impl_info_str()).starts_with("ref") ||
        f.primitive.pd.dst_desc().dims() != cx.act_dims(cx.node_at(*d).output))
        return std::nullopt;
    return f;
}

}  // namespace stemshare::onednn::detail
