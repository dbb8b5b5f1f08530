#pragma once
/// \file
/// Lowering of conv2d (grouped and depthwise too) to one oneDNN convolution, with whatever follows
/// it fused as post-ops (fusion.hpp): an activation, a residual add [+ activation] (a `sum` into the
/// addend's bytes where a fast kernel takes its layout, else a binary add), or a 3x3
/// stride-2 depthwise conv [+ activation] after a 1x1 conv, the last only where its bits match the
/// pair run unfused (`fused_matches_unfused`). `fused_depthwise_implementation` and
/// `fused_depthwise_matches_unfused` ask, without compiling a graph, which kernel oneDNN has for such
/// a pair and whether a compiled graph would fuse it.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/fusion.hpp>
#include <stemshare/backend/onednn/lowering.hpp>
#include <stemshare/backend/onednn/threading.hpp>
#include <stemshare/core/shape.hpp>

namespace stemshare::onednn::detail {

/// The weight dims of conv `s` on `in_channels` channels: {O, I, KH, KW}, or {G, O/G, I/G, KH, KW}
/// when grouped.
inline dnnl::memory::dims conv_weight_dims(const conv2d_spec& s, std::int64_t in_channels) {
    return s.groups > 1 ? dnnl::memory::dims{s.groups, s.out_channels / s.groups, in_channels / s.groups,
                                             s.kernel.h, s.kernel.w}
                        : dnnl::memory::dims{s.out_channels, in_channels, s.kernel.h, s.kernel.w};
}

/// oneDNN's description of conv `s` from `src_dims` to `dst_dims` (activations in `act_dt`, the
/// result in `dst_type`), every layout left to oneDNN but the result's where `dst_layout` is given.
inline dnnl::convolution_forward::desc conv_desc(const conv2d_spec& s, const dnnl::memory::dims& src_dims,
                                                 const dnnl::memory::dims& dst_dims, dt act_dt, dt dst_type,
                                                 const dnnl::memory::desc* dst_layout = nullptr) {
    const dnnl::memory::desc src_md(src_dims, act_dt, tag::any);
    const dnnl::memory::desc w_md(conv_weight_dims(s, src_dims[1]), act_dt, tag::any);
    const dnnl::memory::desc dst_md =
        dst_layout ? *dst_layout : dnnl::memory::desc(dst_dims, dst_type, tag::any);
    const dnnl::memory::desc b_md({s.out_channels}, dt::f32, tag::x);
    const dnnl::memory::dims strides{s.stride.h, s.stride.w};
    const dnnl::memory::dims pad_l{s.padding.top, s.padding.left};
    const dnnl::memory::dims pad_r{s.padding.bottom, s.padding.right};
    const dnnl::memory::dims dilates = onednn_dilates(s.dilation);
    return s.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                    dnnl::algorithm::convolution_direct, src_md, w_md, b_md,
                                                    dst_md, strides, dilates, pad_l, pad_r)
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                    dnnl::algorithm::convolution_direct, src_md, w_md, dst_md,
                                                    strides, dilates, pad_l, pad_r);
}

/// The shapes and attributes of a 1x1 conv -> 3x3 stride-2 depthwise conv pair (f32): what the
/// bit-exactness probe of `fused_matches_unfused` needs to build the pair both ways.
struct depthwise_pair {
    conv2d_spec expand;           ///< the 1x1 conv (with bias: oneDNN's fused kernel needs it)
    conv2d_spec depthwise;        ///< the depthwise conv
    dnnl::memory::dims src_dims;  ///< the 1x1 conv's input
    dnnl::memory::dims mid_dims;  ///< the 1x1 conv's output, the depthwise conv's input
    dnnl::memory::dims dst_dims;  ///< the depthwise conv's output
    std::optional<layer_spec> expand_activation;  ///< the activation fused after the 1x1 conv
    std::optional<layer_spec> dw_activation;      ///< the activation fused after the depthwise conv
};

/// True when `fused` (the pair's fused primitive) gives the same bits as the pair run unfused - the
/// 1x1 conv with its own post-ops, then the depthwise conv [+ activation] as its own primitive, as
/// a graph cut between the two runs them - on random inputs, weights and biases of the pair's
/// shapes, on the current thread count. The stem runtime promises the same bits whatever the cuts,
/// so a pair is fused only where this holds: oneDNN's fused kernel may accumulate in another order
/// than the unfused kernels (on AVX-512, jit_1x1 fused against brgconv unfused), and which kernels
/// it picks depends on the ISA. A kernel's accumulation order depends on shapes, layouts and
/// threads, not on the values, so one run on random data is the test. Run once per `key` (the fused
/// primitive's cache key) and thread count; the answer is cached for the process.
inline bool fused_matches_unfused(const std::string& key, const cached_primitive& fused,
                                  const depthwise_pair& p) {
    static std::mutex mutex;
    static std::unordered_map<std::string, bool> answers;
    const std::string probe_key = key + "|t" + std::to_string(max_threads());
    {
        const std::lock_guard lock(mutex);
        if (const auto it = answers.find(probe_key); it != answers.end()) return it->second;
    }
    const dnnl::engine& engine = cpu_engine();
    dnnl::stream stream(engine);
    std::mt19937 rng(2026);
    const auto random = [&](const dnnl::memory::dims& dims) {
        std::int64_t n = 1;
        for (const auto d : dims) n *= d;
        std::vector<float> v(static_cast<std::size_t>(n));
        std::uniform_real_distribution<float> u(-2.0F, 2.0F);
        for (auto& x : v) x = u(rng);
        return v;
    };
    // Plain data reordered into layout `md` (reorders copy f32 exactly).
    const auto packed = [&](std::vector<float>& data, const dnnl::memory::dims& dims,
                            const dnnl::memory::desc& md) {
        dnnl::memory user(plain_desc(dims), engine, data.data());
        dnnl::memory m(md, engine);
        dnnl::reorder(user, m).execute(stream, user, m);
        stream.wait();
        return m;
    };
    const auto plain = [&](dnnl::memory& m, const dnnl::memory::dims& dims) {
        std::vector<float> out(plain_desc(dims).get_size() / sizeof(float));
        dnnl::memory user(plain_desc(dims), engine, out.data());
        dnnl::reorder(m, user).execute(stream, m, user);
        stream.wait();
        return out;
    };
    const auto run = [&](const cached_primitive& c, std::unordered_map<int, dnnl::memory> args) {
        if (const auto scratch = c.pd.scratchpad_desc(); scratch.get_size() > 0)
            args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(scratch, engine));
        c.primitive.execute(stream, args);
        stream.wait();
    };
    const std::int64_t channels = p.expand.out_channels;
    const dnnl::memory::dims w_dims = conv_weight_dims(p.expand, p.src_dims[1]);
    const dnnl::memory::dims dw_w_dims{channels, 1, 1, 3, 3};
    auto src = random(p.src_dims);
    auto w = random(w_dims);
    auto b = random({channels});
    auto dw_w = random(dw_w_dims);
    auto dw_b =
        p.depthwise.bias ? random({channels}) : std::vector<float>(static_cast<std::size_t>(channels), 0.0F);

    // Fused: one primitive.
    const auto& fpd = fused.pd;
    const auto dw_md = [&](int arg) {
        return fpd.query_md(dnnl::query::exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | arg);
    };
    dnnl::memory fused_dst(fpd.dst_desc(0), engine);
    run(fused,
        {{DNNL_ARG_SRC, packed(src, p.src_dims, fpd.src_desc(0))},
         {DNNL_ARG_WEIGHTS, packed(w, w_dims, fpd.weights_desc(0))},
         {DNNL_ARG_BIAS, packed(b, {channels}, fpd.weights_desc(1))},
         {DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS, packed(dw_w, dw_w_dims, dw_md(DNNL_ARG_WEIGHTS))},
         {DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS, packed(dw_b, {channels}, dw_md(DNNL_ARG_BIAS))},
         {DNNL_ARG_DST, fused_dst}});

    // Unfused: the 1x1 conv, then the depthwise conv on its result, each as the lowering makes it.
    const auto make = [&](const conv2d_spec& s, const dnnl::memory::dims& in, const dnnl::memory::dims& out,
                          const std::optional<layer_spec>& activation) {
        dnnl::post_ops po;
        std::string unused_key;
        if (activation) append_activation(*activation, po, unused_key);
        dnnl::primitive_attr attr = base_attr();
        attr.set_post_ops(po);
        dnnl::convolution_forward::primitive_desc pd(conv_desc(s, in, out, dt::f32, dt::f32), attr, engine);
        return cached_primitive{pd, dnnl::convolution_forward(pd)};
    };
    const cached_primitive first = make(p.expand, p.src_dims, p.mid_dims, p.expand_activation);
    const cached_primitive second = make(p.depthwise, p.mid_dims, p.dst_dims, p.dw_activation);
    dnnl::memory mid(first.pd.dst_desc(0), engine);
    run(first, {{DNNL_ARG_SRC, packed(src, p.src_dims, first.pd.src_desc(0))},
                {DNNL_ARG_WEIGHTS, packed(w, w_dims, first.pd.weights_desc(0))},
                {DNNL_ARG_BIAS, packed(b, {channels}, first.pd.weights_desc(1))},
                {DNNL_ARG_DST, mid}});
    dnnl::memory mid_in(second.pd.src_desc(0), engine);
    dnnl::reorder(mid, mid_in).execute(stream, mid, mid_in);
    stream.wait();
    dnnl::memory unfused_dst(second.pd.dst_desc(0), engine);
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, mid_in},
        {DNNL_ARG_WEIGHTS, packed(dw_w, {channels, 1, 1, 3, 3}, second.pd.weights_desc(0))},
        {DNNL_ARG_DST, unfused_dst}};
    if (p.depthwise.bias) args.emplace(DNNL_ARG_BIAS, packed(dw_b, {channels}, second.pd.weights_desc(1)));
    run(second, std::move(args));

    const std::vector<float> a = plain(fused_dst, p.dst_dims);
    const std::vector<float> c = plain(unfused_dst, p.dst_dims);
    const bool same = a.size() == c.size() && std::memcmp(a.data(), c.data(), a.size() * sizeof(float)) == 0;
    const std::lock_guard lock(mutex);
    answers.try_emplace(probe_key, same);
    return same;
}

/// Whether conv `d`, with the residual add that `append_add` appends to its post-ops (then the
/// fused activation, if any), gets a fast kernel: not the reference or gemm one oneDNN 2.6 falls
/// back to where it has no jit kernel for the combination.
template <class AppendAdd>
bool fast_with_add(const dnnl::convolution_forward::desc& d, lowering& cx, const conv_post_ops& fused,
                   const AppendAdd& append_add) {
    dnnl::post_ops po;
    append_add(po);
    std::string unused_key;
    if (fused.act_node) append_activation(cx.node_at(*fused.act_node).spec, po, unused_key);
    dnnl::primitive_attr attr = base_attr();
    attr.set_post_ops(po);
    try {
        const std::string impl =
            dnnl::convolution_forward::primitive_desc(d, attr, cpu_engine()).impl_info_str();
        return !impl.starts_with("ref") && impl.find("gemm") == std::string::npos;
    } catch (const dnnl::error&) {
        return false;
    }
}

/// The layout in which a conv with a fused residual add (conv `d`, addend now in `current`) reads
/// its addend as a binary post-op. oneDNN 2.6's binary post-op takes the addend as it is laid out;
/// where that layout is not one its fast kernels add in (plain NCHW, or the NHWC that brgconv
/// picks for its own result), it has only x64:gemm:jit or ref:any for the pair: MobileNetV3-Large
/// spent 79% of its time in such 1x1 convs on AVX-512. So the addend keeps its layout where a fast
/// kernel takes it, and is otherwise reordered once (cached per layout) to the first blocked or
/// channels-last layout that gets one; where none does, it stays as it is. Used only where the
/// conv cannot sum into the addend (`sum_is_fast`).
inline dnnl::memory::desc addend_layout(const dnnl::convolution_forward::desc& d,
                                        const dnnl::memory::desc& current, lowering& cx,
                                        const conv_post_ops& fused) {
    const auto fast = [&](const dnnl::memory::desc& md) {
        return fast_with_add(d, cx, fused,
                             [&](dnnl::post_ops& po) { po.append_binary(dnnl::algorithm::binary_add, md); });
    };
    if (fast(current)) return current;
    for (const tag t : {tag::nChw16c, tag::nChw8c, tag::nhwc}) {
        const dnnl::memory::desc md(current.dims(), current.data_type(), t);
        if (fast(md)) return md;
    }
    return current;
}

/// Whether a conv with a fused residual add can run it as oneDNN's `sum` post-op (dst += conv, the
/// destination holding the addend beforehand) in the addend's layout `addend` on a fast kernel.
/// The binary post-op (`addend_layout`) takes NHWC addends only on slow kernels in oneDNN 2.6, so
/// on AVX-512, where brgconv keeps activations NHWC, every residual conv there ran on jit_1x1 in
/// nChw16c between two or three reorders (ResNet-50, MobileNetV2/V3, EfficientNet); summing into
/// the NHWC addend keeps brgconv and drops the reorders. The sum adds the same two f32 values
/// once, as the binary add does.
inline bool sum_is_fast(const dnnl::convolution_forward::desc& d, const dnnl::memory::desc& addend,
                        dt dst_type, lowering& cx, const conv_post_ops& fused) {
    return addend.data_type() == dst_type &&
           fast_with_add(d, cx, fused, [](dnnl::post_ops& po) { po.append_sum(1.0F); });
}

inline void lower(lowering& cx, std::size_t i, const node& n, const conv2d_spec& s) {
    const value_id src_v = n.inputs[0];
    const dnnl::memory::dims src_dims = cx.act_dims(n.input_shapes[0]);
    const dnnl::memory::dims dst_dims = cx.act_dims(n.output);
    const dnnl::memory::dims w_dims = conv_weight_dims(s, n.input_shapes[0].c);

    const conv_post_ops fused = match_conv_post_ops(cx, i);
    const std::size_t last_fused = fused.last(i);
    const dt dst_type = cx.output_type(last_fused);
    const dt act_dt = cx.activation_type();
    dnnl::primitive_attr attr = base_attr();
    dnnl::post_ops po;
    std::string key = "conv|" + describe(n.spec) + "|in" + describe(plain_desc(src_dims)) + "|out" +
                      std::to_string(static_cast<int>(dst_type));
    dnnl::memory other_mem;
    std::optional<dnnl::memory::desc> sum_into;  // the fused add runs as `sum` into this layout
    if (fused.add_node) {
        other_mem = cx.value(fused.other);
        const dnnl::memory::desc addend = other_mem.get_desc();
        if (sum_is_fast(conv_desc(s, src_dims, dst_dims, act_dt, dst_type, &addend), addend, dst_type, cx,
                        fused)) {
            sum_into = addend;
            po.append_sum(1.0F);
            key += "|sum" + describe(addend);
        } else {
            const dnnl::memory::desc md =
                addend_layout(conv_desc(s, src_dims, dst_dims, act_dt, dst_type), addend, cx, fused);
            if (md != addend) other_mem = cx.as_layout(fused.other, md, "layer '" + n.name + "'");
            po.append_binary(dnnl::algorithm::binary_add, other_mem.get_desc());
            key += "|add" + describe(other_mem.get_desc());
        }
    }
    if (fused.act_node) append_activation(cx.node_at(*fused.act_node).spec, po, key);
    attr.set_post_ops(po);
    const auto make = [&](const dnnl::primitive_attr& with) {
        dnnl::convolution_forward::primitive_desc pd(
            conv_desc(s, src_dims, dst_dims, act_dt, dst_type, sum_into ? &*sum_into : nullptr), with,
            cpu_engine());
        return cached_primitive{pd, dnnl::convolution_forward(pd)};
    };
    std::optional<depthwise_fusion> dw =
        fused.add_node ? std::nullopt : fused_depthwise(cx, n, s, last_fused, key, make);
    if (dw) {
        const node& d = cx.node_at(dw->conv);
        const depthwise_pair pair{
            .expand = s,
            .depthwise = std::get<conv2d_spec>(d.spec),
            .src_dims = src_dims,
            .mid_dims = dst_dims,
            .dst_dims = cx.act_dims(d.output),
            .expand_activation =
                fused.act_node ? std::optional<layer_spec>(cx.node_at(*fused.act_node).spec) : std::nullopt,
            .dw_activation =
                dw->last != dw->conv ? std::optional<layer_spec>(cx.node_at(dw->last).spec) : std::nullopt};
        if (!fused_matches_unfused(dw->key, dw->primitive, pair)) dw.reset();  // two steps, same bits as cut
    }
    const cached_primitive cached = dw ? dw->primitive : cx.create(key, n, [&] { return make(attr); });
    const auto& pd = cached.pd;
    arg_list args;
    args.emplace_back(DNNL_ARG_SRC, cx.as_layout(src_v, pd.src_desc(0), "layer '" + n.name + "'"));
    args.emplace_back(DNNL_ARG_WEIGHTS, cx.load_weights(n.params[0], w_dims, pd.weights_desc(0)));
    if (s.bias)
        args.emplace_back(DNNL_ARG_BIAS, cx.load_weights(n.params[1], {s.out_channels}, pd.weights_desc(1)));
    if (dw) {
        const node& d = cx.node_at(dw->conv);
        const auto md = [&](int arg) {
            return pd.query_md(dnnl::query::exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | arg);
        };
        args.emplace_back(DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS,
                          cx.load_weights(d.params[0], {s.out_channels, 1, 1, 3, 3}, md(DNNL_ARG_WEIGHTS)));
        args.emplace_back(DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS,
                          std::get<conv2d_spec>(d.spec).bias
                              ? cx.load_weights(d.params[1], {s.out_channels}, md(DNNL_ARG_BIAS))
                              : cx.zero_weights(md(DNNL_ARG_BIAS)));
    }
    std::string what = "conv '" + n.name + "'";
    const bool in_place = sum_into && cx.overwritable(fused.other, i, *fused.add_node);
    if (in_place) {
        cx.set_value(i, other_mem);  // dst += conv over the addend's bytes: nothing reads them later
    } else if (sum_into) {
        cx.set_value(i, cx.new_value(*sum_into));
        cx.add_reorder(other_mem, cx.value(static_cast<value_id>(i)),
                       "copy of the addend of layer '" + n.name + "'");
    } else {
        cx.set_value(i, cx.output_value(dw ? dw->last : last_fused, pd.dst_desc(0)));
    }
    args.emplace_back(DNNL_ARG_DST, cx.value(static_cast<value_id>(i)));
    if (fused.add_node) {
        if (!sum_into) args.emplace_back(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, other_mem);
        cx.absorb(i, *fused.add_node);
        what += " + add";
    }
    if (fused.act_node) {
        cx.absorb(i, *fused.act_node);
        what += " + " + describe(cx.node_at(*fused.act_node).spec);
    }
    if (dw) {
        cx.absorb(i, dw->conv);
        what += " + depthwise '" + cx.node_at(dw->conv).name + "'";
        if (dw->last != dw->conv) {
            cx.absorb(i, dw->last);
            what += " + " + describe(cx.node_at(dw->last).spec);
        }
    }
    if (sum_into) what += in_place ? " (summed in place)" : " (summed into a copy)";
    cx.push_step(cached.primitive, pd, std::move(args), what + ": " + pd.impl_info_str());
}

}  // namespace stemshare::onednn::detail

namespace stemshare::onednn::detail {

/// The pair of `fused_depthwise_implementation`: a 1x1 conv with bias from `in` to `channels`
/// channels, then the 3x3 stride-2 padding-1 depthwise conv, each followed by `activation` if given.
inline depthwise_pair probe_pair(shape in, std::int64_t channels, std::optional<activation_kind> activation,
                                 bool dw_bias, std::int64_t batch) {
    depthwise_pair p{.expand = conv2d_spec{.out_channels = channels},
                     .depthwise = conv2d_spec{.out_channels = channels,
                                              .kernel = 3,
                                              .stride = 2,
                                              .padding = 1,
                                              .groups = channels,
                                              .bias = dw_bias},
                     .src_dims = {batch, in.c, in.h, in.w},
                     .mid_dims = {batch, channels, in.h, in.w},
                     .dst_dims = {batch, channels, (in.h - 1) / 2 + 1, (in.w - 1) / 2 + 1},
                     .expand_activation = std::nullopt,
                     .dw_activation = std::nullopt};
    if (activation) {
        p.expand_activation = activation_spec{*activation};
        p.dw_activation = activation_spec{*activation};
    }
    return p;
}

/// The fused primitive descriptor of pair `p`, or nothing where oneDNN refuses it.
inline std::optional<dnnl::convolution_forward::primitive_desc> fused_pair_desc(const depthwise_pair& p) {
    dnnl::post_ops po;
    std::string unused_key;
    if (p.expand_activation) append_activation(*p.expand_activation, po, unused_key);
    po.append_dw_k3s2p1(dt::f32, dt::f32, dt::f32, 0, {});
    if (p.dw_activation) append_activation(*p.dw_activation, po, unused_key);
    dnnl::primitive_attr attr = base_attr();
    attr.set_post_ops(po);
    try {
        return dnnl::convolution_forward::primitive_desc(
            conv_desc(p.expand, p.src_dims, p.mid_dims, dt::f32, dt::f32), attr, cpu_engine());
    } catch (const dnnl::error&) {
        return std::nullopt;
    }
}

}  // namespace stemshare::onednn::detail

namespace stemshare::onednn {

/// The implementation oneDNN has for a 1x1 conv with bias from `in` to `channels` channels that
/// computes the 3x3, stride-2, padding-1 depthwise conv after it too (its `dw_k3s2p1` post-op),
/// each conv followed by `activation` if given, f32, `batch` images on `threads` threads (0 = all
/// cores; this sets the thread count, as compiling does): e.g. "jit_1x1:avx2", a reference
/// "ref..." one, or "" where oneDNN refuses the pair. A compiled graph fuses such a pair only
/// where this is not a reference kernel and `fused_depthwise_matches_unfused` holds.
[[nodiscard]] inline std::string fused_depthwise_implementation(
    shape in, std::int64_t channels, std::optional<activation_kind> activation = {}, std::int64_t batch = 1,
    int threads = 0) {
    use_threads(resolve_threads(threads));
    const auto pd = detail::fused_pair_desc(detail::probe_pair(in, channels, activation, true, batch));
    return pd ? pd->impl_info_str() : std::string();
}

/// True when oneDNN's fused kernel for the pair of `fused_depthwise_implementation` (the
/// depthwise conv with bias or not) gives the same bits as the two convs run one after another,
/// as a graph cut between them runs them, found by the probe a compiled graph runs before fusing
/// such a pair (on random data; the answer is cached). False where oneDNN has no fused kernel.
[[nodiscard]] inline bool fused_depthwise_matches_unfused(shape in, std::int64_t channels,
                                                          std::optional<activation_kind> activation = {},
                                                          bool dw_bias = true, std::int64_t batch = 1,
                                                          int threads = 0) {
    use_threads(resolve_threads(threads));
    const detail::depthwise_pair p = detail::probe_pair(in, channels, activation, dw_bias, batch);
    const auto pd = detail::fused_pair_desc(p);
    if (!pd) return false;
    const std::string key = "probe|" + to_string(in) + "|" + std::to_string(channels) + "|" +
                            (activation ? std::string(to_string(*activation)) : std::string("none")) + "|" +
                            std::to_string(static_cast<int>(dw_bias)) + "|" + std::to_string(batch);
    return detail::fused_matches_unfused(key, cached_primitive{*pd, dnnl::convolution_forward(*pd)}, p);
}

}  // namespace stemshare::onednn
