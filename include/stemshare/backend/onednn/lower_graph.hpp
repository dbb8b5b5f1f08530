#pragma once
/// \file
/// `lower_graph`: a graph (batch-norms folded) to a `program`, one layer at a time in graph order,
/// each by the `lower` function of its kind (lower_<kind>.hpp); a layer fused into an earlier one's
/// primitive is skipped. Activations stay in the layouts oneDNN picks (`format_tag::any`), with
/// reorders only where a consumer wants another layout and at the graph's two ends.

#include <algorithm>
#include <cstddef>
#include <span>
#include <utility>
#include <variant>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/lower_activation.hpp>
#include <stemshare/backend/onednn/lower_add.hpp>
#include <stemshare/backend/onednn/lower_batch_norm.hpp>
#include <stemshare/backend/onednn/lower_concat.hpp>
#include <stemshare/backend/onednn/lower_conv.hpp>
#include <stemshare/backend/onednn/lower_dense.hpp>
#include <stemshare/backend/onednn/lower_flatten.hpp>
#include <stemshare/backend/onednn/lower_multiply.hpp>
#include <stemshare/backend/onednn/lower_pooling.hpp>
#include <stemshare/backend/onednn/lower_shuffle.hpp>
#include <stemshare/backend/onednn/lower_slice.hpp>
#include <stemshare/backend/onednn/lower_softmax.hpp>
#include <stemshare/backend/onednn/lowering.hpp>
#include <stemshare/backend/onednn/program.hpp>
#include <stemshare/graph/graph.hpp>

namespace stemshare::onednn::detail {

/// A graph input read by several layers, or by a layer that is not a convolution (a residual
/// shortcut, a pooling), would make them run on plain NCHW, where oneDNN falls back to slow
/// kernels (gemm convolutions with a plain post-op operand, simple_nchw pooling): the suffix of a
/// model cut inside a network, which the stem runtime runs, starts that way. So the input is
/// converted once to the layout a convolution picks for it, as inside the whole model.
inline void convert_shared_input(lowering& cx) {
    std::size_t readers = 0;
    bool only_convolutions = true;
    for (const node& n : cx.source().nodes()) {
        if (std::find(n.inputs.begin(), n.inputs.end(), graph_input) == n.inputs.end()) continue;
        ++readers;
        only_convolutions = only_convolutions && std::holds_alternative<conv2d_spec>(n.spec);
    }
    if (readers == 0 || (readers == 1 && only_convolutions)) return;
    const dnnl::memory src = cx.value(graph_input);
    const auto native = convolution_layout(cx.act_dims(cx.source().input_shape()), cx.activation_type());
    if (!native || *native == src.get_desc()) return;  // no convolution here: plain it stays
    dnnl::memory converted = cx.new_value(*native);
    cx.add_reorder(src, converted, "reorder of the input to the layout convolutions use");
    cx.set_input(converted);
}

/// Lowers `g`; `origin[i]` is the layer of the graph as given that layer i of `g` comes from.
inline program lower_graph(const graph& g, lowering_options options, std::span<const std::size_t> origin,
                           dnnl::stream stream) {
    lowering cx(g, options, origin, std::move(stream));
    convert_shared_input(cx);
    cx.concats().plan(g, options.batch, cx.activation_type(), cx.arena());
    const auto& nodes = g.nodes();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (cx.absorbed(i)) continue;
        const node& n = nodes[i];
        cx.charge_to(i);
        std::visit([&](const auto& s) { lower(cx, i, n, s); }, n.spec);
    }
    cx.charge_to_last();
    // Absorbed nodes alias the memory of the primitive that computed them.
    return cx.finish(cx.value(g.last_value()));
}

}  // namespace stemshare::onednn::detail
