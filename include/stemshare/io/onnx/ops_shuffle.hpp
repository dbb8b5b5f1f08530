#pragma once
/// \file
/// Lowering of ShuffleNet's ONNX patterns.
///
/// Channel shuffle: torchvision's `channel_shuffle(x, g)` (view, transpose(1, 2), view) exports
/// as Reshape to [N, g, C/g, H, W] -> Transpose perm [0, 2, 1, 3, 4] -> Reshape to [N, C, H, W]
/// (or [N, -1, H, W]), the target shapes as constants or as shape arithmetic on Shape (folded,
/// fold.hpp). The first Reshape and the Transpose define a value that only marks how far the
/// pattern got (value::shuffle); the last Reshape adds one `channel_shuffle_spec{g}` layer. Any
/// other reader of a half-done shuffle, a Transpose of anything else, and a 5-D Reshape of another
/// form are refused by name.
///
/// Channel split: Split on axis 1 (sizes from the `split` attribute before opset 13 or input
/// since; equal parts without them) and Slice on axis 1 (constant starts/ends/axes, steps 1;
/// torch.chunk exports as one Slice per part) become one `channel_slice_spec` layer per part read.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/io/onnx/constant.hpp>
#include <stemshare/io/onnx/import_context.hpp>
#include <stemshare/io/onnx/node.hpp>
#include <stemshare/io/onnx/ops_structure.hpp>
#include <stemshare/layers/channel_shuffle.hpp>
#include <stemshare/layers/channel_slice.hpp>

namespace stemshare::io::onnx_detail {

inline constexpr const char* shuffle_pattern =
    "Reshape to [N, g, C/g, H, W], Transpose with perm [0, 2, 1, 3, 4], Reshape to [N, C, H, W]";

/// Refuses node `n` when it reads half of a channel shuffle (only the pattern's next node may).
inline void refuse_shuffle_views(const import_context& ctx, const node_ctx& n) {
    const std::string& op = n.proto.op_type();
    if (op == "Reshape" || op == "Transpose") return;
    for (int i = 0; i < n.proto.input_size(); ++i) {
        if (!has_input(n.proto, i)) continue;
        const value* v = ctx.find(n.proto.input(i));
        if (v && v->shuffle != value::shuffle_view::none)
            throw error(n.where,
                        "input '" + n.proto.input(i) + "' is " + shape_text(ctx.onnx_shape(*v)) +
                            ", part of a channel shuffle; stemshare imports a 5-D tensor only inside " +
                            shuffle_pattern);
    }
}

/// The constant target of Reshape node `n` on `x`: 0 copies the input's extent (allowzero 0), and
/// the file's batch extent in front becomes the batch marker.
[[nodiscard]] inline std::vector<std::int64_t> reshape_target(const import_context& ctx, const node_ctx& n,
                                                              const value& x) {
    const value& target_value = ctx.input(n, 1);
    if (target_value.what != value::kind::constant)
        throw error(n.where, "the target shape '" + n.proto.input(1) +
                                 "' is not a constant; stemshare supports Reshape only to a constant shape");
    const constant& target = target_value.data;
    const auto in = ctx.onnx_shape(x);
    const bool allow_zero = attr_int(n.proto, "allowzero", 0) != 0;
    std::vector<std::int64_t> t;
    for (std::size_t i = 0; i < target.values.size(); ++i) {
        std::int64_t d =
            target.values[i] == static_cast<double>(batch_extent) ? batch_extent : target.as_int(i);
        if (d == 0 && !allow_zero && i < in.size()) d = in[i];
        t.push_back(d);
    }
    if (!t.empty() && ctx.input_batch() > 0 && t[0] == ctx.input_batch()) t[0] = batch_extent;
    return t;
}

/// The first Reshape: [N, C, H, W] to [N, g, C/g, H, W] (one of g, C/g may be -1).
inline void start_shuffle(import_context& ctx, const node_ctx& n, const value& x,
                          std::vector<std::int64_t> t) {
    const shape s = ctx.shape_of(x.id);
    const auto refuse = [&] {
        throw error(n.where,
                    "Reshape of " + shape_text(ctx.onnx_shape(x)) + " to " + shape_text(t) +
                        " is not supported; stemshare imports a 5-D Reshape only as the first step of "
                        "a channel shuffle: " +
                        shuffle_pattern);
    };
    if (x.rank != 4 || t[0] != batch_extent || t[3] != s.h || t[4] != s.w) refuse();
    if (t[1] == -1 && t[2] > 0 && s.c % t[2] == 0) t[1] = s.c / t[2];
    if (t[2] == -1 && t[1] > 0 && s.c % t[1] == 0) t[2] = s.c / t[1];
    if (t[1] < 1 || t[2] < 1 || t[1] * t[2] != s.c) refuse();
    value v = x;
    v.rank = 5;
    v.shuffle = value::shuffle_view::grouped;
    v.groups = t[1];
    ctx.define(n, 0, v);
}

/// The last Reshape: [N, C/g, g, H, W] back to [N, C, H, W]: the shuffle layer.
inline void finish_shuffle(import_context& ctx, const node_ctx& n, const value& x,
                           const std::vector<std::int64_t>& t) {
    const shape s = ctx.shape_of(x.id);
    if (t.size() != 4 || t[0] != batch_extent || (t[1] != s.c && t[1] != -1) || t[2] != s.h || t[3] != s.w)
        throw error(n.where, "Reshape of the transposed " + shape_text(ctx.onnx_shape(x)) + " to " +
                                 shape_text(t) + " does not end a channel shuffle; stemshare imports " +
                                 shuffle_pattern);
    ctx.define_layer(n, ctx.add_layer(n, channel_shuffle_spec{x.groups}, {x.id}, {}), 4);
}

/// Reshape: a step of a channel shuffle, or a flatten (ops_structure.hpp).
inline void lower_reshape_or_shuffle(import_context& ctx, const node_ctx& n) {
    const value& x = ctx.input(n, 0);
    if (x.shuffle == value::shuffle_view::transposed)
        return finish_shuffle(ctx, n, x, reshape_target(ctx, n, x));
    if (x.shuffle == value::shuffle_view::grouped)
        throw error(n.where,
                    "Reshape of " + shape_text(ctx.onnx_shape(x)) +
                        " without the Transpose before it is not a channel shuffle; stemshare imports " +
                        shuffle_pattern);
    if (x.what == value::kind::layer && has_input(n.proto, 1) &&
        ctx.input(n, 1).what == value::kind::constant) {
        const std::vector<std::int64_t> t = reshape_target(ctx, n, x);
        if (t.size() == 5) return start_shuffle(ctx, n, x, t);
    }
    lower_reshape(ctx, n);
}

/// Transpose of a computed tensor: only the middle of a channel shuffle.
inline void lower_transpose(import_context& ctx, const node_ctx& n) {
    const value& x = ctx.layer_input(n, 0);
    const std::vector<std::int64_t> perm = attr_ints(n.proto, "perm", {});
    if (x.shuffle != value::shuffle_view::grouped || perm != std::vector<std::int64_t>{0, 2, 1, 3, 4})
        throw error(n.where, "Transpose of " + shape_text(ctx.onnx_shape(x)) + " with perm " +
                                 shape_text(perm) +
                                 " is not supported; stemshare imports Transpose of a computed tensor only "
                                 "inside a channel shuffle: " +
                                 shuffle_pattern);
    value v = x;
    v.shuffle = value::shuffle_view::transposed;
    ctx.define(n, 0, v);
}

namespace detail {
/// Channels the channel slices of `x` index: C of a feature map, K of a flat [N, K].
[[nodiscard]] inline std::int64_t channels_of(const import_context& ctx, const node_ctx& n, const value& x) {
    const shape s = ctx.shape_of(x.id);
    if (x.rank == 4) return s.c;
    if (x.rank == 2 && s.is_flat()) return s.c;
    throw error(n.where, "input of rank " + std::to_string(x.rank) + " " + shape_text(ctx.onnx_shape(x)) +
                             " cannot be sliced along channels");
}

/// ONNX Slice's index `v` (negative counts from the end, any magnitude) clamped to [0, extent].
/// Read as a double: INT64_MAX, PyTorch's "to the end", would overflow a conversion.
[[nodiscard]] inline std::int64_t clamp_index(double v, std::int64_t extent) {
    if (v < 0) v += static_cast<double>(extent);
    return static_cast<std::int64_t>(std::clamp(v, 0.0, static_cast<double>(extent)));
}

/// One Slice/Split input (1-D integer constant) or attribute (before opset 10 / 13) as values.
[[nodiscard]] inline std::vector<double> index_list(const import_context& ctx, const node_ctx& n, int input,
                                                    const char* name) {
    if (has_input(n.proto, input)) return ctx.const_input(n, input, name).values;
    std::vector<double> out;
    for (auto v : attr_ints(n.proto, name, {})) out.push_back(static_cast<double>(v));
    return out;
}
}  // namespace detail

/// Slice with every axis other than the channel axis taken whole: a channel slice (or nothing).
inline void lower_slice(import_context& ctx, const node_ctx& n) {
    const value& x = ctx.layer_input(n, 0);
    const std::int64_t channels = detail::channels_of(ctx, n, x);
    const std::vector<double> starts = detail::index_list(ctx, n, 1, "starts");
    const std::vector<double> ends = detail::index_list(ctx, n, 2, "ends");
    std::vector<double> axes = detail::index_list(ctx, n, 3, "axes");
    const std::vector<double> steps = detail::index_list(ctx, n, 4, "steps");
    if (axes.empty())
        for (std::size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<double>(k));
    if (starts.size() != ends.size() || starts.size() != axes.size() ||
        (!steps.empty() && steps.size() != starts.size()))
        throw error(n.where, "starts, ends, axes and steps must have one value per sliced axis");
    const auto rank = static_cast<std::int64_t>(x.rank);
    const auto extents = ctx.onnx_shape(x);
    channel_slice_spec spec{0, channels};
    bool on_channels = false;
    for (std::size_t k = 0; k < starts.size(); ++k) {
        auto axis = static_cast<std::int64_t>(axes[k]);
        if (axis < 0) axis += rank;
        if (!steps.empty() && steps[k] != 1)
            throw error(n.where, "Slice with step " + std::to_string(static_cast<std::int64_t>(steps[k])) +
                                     " is not supported; only step 1 is");
        if (axis == 1) {
            if (on_channels) throw error(n.where, "Slice names the channel axis twice");
            on_channels = true;
            const std::int64_t b = detail::clamp_index(starts[k], channels);
            const std::int64_t e = detail::clamp_index(ends[k], channels);
            spec = {b, e - b};
            continue;
        }
        // Another axis must be taken whole: from 0 to its end (the batch's "end" is any bound past
        // every batch: PyTorch writes INT64_MAX).
        const bool whole =
            axis == 0
                ? starts[k] == 0 && ends[k] >= static_cast<double>(std::numeric_limits<std::int32_t>::max())
            : axis > 1 && axis < rank
                ? detail::clamp_index(starts[k], extents[static_cast<std::size_t>(axis)]) == 0 &&
                      detail::clamp_index(ends[k], extents[static_cast<std::size_t>(axis)]) ==
                          extents[static_cast<std::size_t>(axis)]
                : false;
        if (!whole)
            throw error(n.where,
                        "Slice along axis " + std::to_string(axis) + " of " + shape_text(extents) +
                            " is not supported; stemshare imports channel slices (axis 1), other axes "
                            "taken whole");
    }
    if (!on_channels || (spec.begin == 0 && spec.count == channels)) return ctx.define(n, 0, x);
    ctx.define_layer(n, ctx.add_layer(n, spec, {x.id}, {}), x.rank);
}

/// Split along the channel axis: one channel slice per output that is read.
inline void lower_split(import_context& ctx, const node_ctx& n) {
    const value& x = ctx.layer_input(n, 0);
    const std::int64_t channels = detail::channels_of(ctx, n, x);
    auto axis = attr_int(n.proto, "axis", 0);
    if (axis < 0) axis += static_cast<std::int64_t>(x.rank);
    if (axis != 1)
        throw error(n.where, "Split along axis " + std::to_string(axis) +
                                 " is not supported; only the channel axis 1 is");
    std::vector<std::int64_t> sizes;
    for (double v : detail::index_list(ctx, n, 1, "split")) sizes.push_back(static_cast<std::int64_t>(v));
    const auto outputs = static_cast<std::int64_t>(n.proto.output_size());
    if (sizes.empty()) {
        // Opset 18's num_outputs splits as torch.chunk (the last part smaller); before it, the
        // parts must be equal.
        if (attr(n.proto, "num_outputs") == nullptr && channels % outputs != 0)
            throw error(n.where, "Split of " + std::to_string(channels) + " channels into " +
                                     std::to_string(outputs) +
                                     " equal parts: the channels are not divisible; give the split sizes");
    } else {
        if (static_cast<std::int64_t>(sizes.size()) != outputs)
            throw error(n.where, "split has " + std::to_string(sizes.size()) + " sizes for " +
                                     std::to_string(outputs) + " outputs");
        const std::int64_t sum = std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0});
        if (sum != channels)
            throw error(n.where, "split sizes sum to " + std::to_string(sum) + " but the input has " +
                                     std::to_string(channels) + " channels");
    }
    for (int k = 0; k < n.proto.output_size(); ++k) {
        const std::string& name = n.proto.output(k);
        if (name.empty() || ctx.readers(name) == 0) continue;
        const channel_slice_spec spec =
            sizes.empty() ? split_part(channels, outputs, k) : split_part(sizes, static_cast<std::size_t>(k));
        const node_ctx part{n.proto, n.name + "." + std::to_string(k), n.where, n.index};
        ctx.define(n, k, layer_value(ctx.add_layer(part, spec, {x.id}, {}), x.rank));
    }
}

}  // namespace stemshare::io::onnx_detail
