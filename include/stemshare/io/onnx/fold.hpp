#pragma once
/// \file
/// Constant folding of shape arithmetic: the Constant, Shape, Gather, Unsqueeze, Squeeze, Concat,
/// Slice, Cast, Transpose, Identity and Add/Sub/Mul/Div nodes whose inputs are all constants are
/// evaluated while importing, which covers the Shape -> Gather -> Unsqueeze -> Concat -> Reshape
/// chain PyTorch emits for `x.view(x.size(0), -1)`. The batch extent stays symbolic
/// (`batch_extent`); arithmetic on it is refused. Each function returns the node's output.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/io/onnx/constant.hpp>
#include <stemshare/io/onnx/decode_tensor.hpp>
#include <stemshare/io/onnx/import_context.hpp>
#include <stemshare/io/onnx/node.hpp>
#include <stemshare/io/onnx/onnx_proto.hpp>

namespace stemshare::io::onnx_detail {

/// An empty integer constant: shape arithmetic is integer unless a float enters it.
[[nodiscard]] inline constant integer_constant() {
    constant c;
    c.integer = true;
    return c;
}

inline constant fold_constant(const import_context& ctx, const node_ctx& n) {
    constant out = integer_constant();
    if (const auto* a = attr(n.proto, "value"); a && a->has_t()) {
        out = decode_tensor(a->t(), ctx.base_dir(), n.where);
    } else if (const auto* ints = attr(n.proto, "value_ints")) {
        out.shape = {ints->ints_size()};
        for (auto x : ints->ints()) out.values.push_back(static_cast<double>(x));
    } else if (const auto* i = attr(n.proto, "value_int")) {
        out.values = {static_cast<double>(i->i())};
    } else if (const auto* f = attr(n.proto, "value_float")) {
        out.integer = false;
        out.values = {f->f()};
    } else if (const auto* fs = attr(n.proto, "value_floats")) {
        out.integer = false;
        out.shape = {fs->floats_size()};
        for (auto x : fs->floats()) out.values.push_back(x);
    } else {
        throw error(n.where,
                    "Constant without a supported value attribute (value, value_int(s), value_float(s))");
    }
    return out;
}

inline constant fold_shape(const import_context& ctx, const node_ctx& n) {
    constant out = integer_constant();
    const auto s = ctx.onnx_shape(ctx.input(n, 0));
    auto rank = static_cast<std::int64_t>(s.size());
    auto start = attr_int(n.proto, "start", 0);
    auto end = attr_int(n.proto, "end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<std::int64_t>(start, 0, rank);
    end = std::clamp<std::int64_t>(end, start, rank);
    for (auto i = start; i < end; ++i)
        out.values.push_back(static_cast<double>(s[static_cast<std::size_t>(i)]));
    out.shape = {end - start};
    return out;
}

inline constant fold_identity(const import_context& ctx, const node_ctx& n) {
    return ctx.input(n, 0).data;
}

inline constant fold_transpose(const import_context& ctx, const node_ctx& n) {
    const constant& a = ctx.input(n, 0).data;
    if (a.shape.size() != 2 || attr_ints(n.proto, "perm", {1, 0}) != std::vector<std::int64_t>{1, 0})
        throw error(n.where, "Transpose is folded only on 2-D constants with perm [1, 0]");
    constant out;
    out.integer = a.integer;
    out.shape = {a.shape[1], a.shape[0]};
    for (std::int64_t c = 0; c < a.shape[1]; ++c)
        for (std::int64_t r = 0; r < a.shape[0]; ++r)
            out.values.push_back(a.values[static_cast<std::size_t>(r * a.shape[1] + c)]);
    return out;
}

inline constant fold_cast(const import_context& ctx, const node_ctx& n) {
    constant out = ctx.input(n, 0).data;
    out.integer = is_integer_type(attr_int(n.proto, "to", onnx::TensorProto_DataType_FLOAT));
    if (out.integer)
        for (auto& x : out.values)
            if (x != batch_extent) x = std::trunc(x);
    return out;
}

inline constant fold_gather(const import_context& ctx, const node_ctx& n) {
    const constant& data = ctx.input(n, 0).data;
    const constant& idx = ctx.input(n, 1).data;
    if (data.shape.size() != 1 || attr_int(n.proto, "axis", 0) != 0)
        throw error(n.where, "Gather is folded only on 1-D constants along axis 0, got data " +
                                 shape_text(data.shape));
    constant out;
    out.integer = data.integer;
    out.shape = idx.shape;
    for (std::size_t i = 0; i < idx.values.size(); ++i) {
        auto k = idx.as_int(i);
        if (k < 0) k += data.shape[0];
        if (k < 0 || k >= data.shape[0])
            throw error(n.where, "Gather index " + std::to_string(idx.as_int(i)) + " is out of range");
        out.values.push_back(data.values[static_cast<std::size_t>(k)]);
    }
    return out;
}

/// The axes of Unsqueeze / Squeeze: the attribute (before opset 13) followed by input 1 (since).
[[nodiscard]] inline std::vector<std::int64_t> fold_axes(const import_context& ctx, const node_ctx& n) {
    std::vector<std::int64_t> axes = attr_ints(n.proto, "axes", {});
    if (has_input(n.proto, 1)) {
        const constant& a = ctx.input(n, 1).data;
        for (std::size_t i = 0; i < a.values.size(); ++i) axes.push_back(a.as_int(i));
    }
    return axes;
}

inline constant fold_unsqueeze(const import_context& ctx, const node_ctx& n) {
    constant out = ctx.input(n, 0).data;
    std::vector<std::int64_t> axes = fold_axes(ctx, n);
    const auto rank = static_cast<std::int64_t>(out.shape.size() + axes.size());
    for (auto& a : axes) a = a < 0 ? a + rank : a;
    std::sort(axes.begin(), axes.end());
    for (auto a : axes) {
        if (a < 0 || a > static_cast<std::int64_t>(out.shape.size()))
            throw error(n.where, "Unsqueeze axis out of range");
        out.shape.insert(out.shape.begin() + a, 1);
    }
    return out;
}

inline constant fold_squeeze(const import_context& ctx, const node_ctx& n) {
    constant out = ctx.input(n, 0).data;
    const std::vector<std::int64_t> axes = fold_axes(ctx, n);
    std::vector<std::int64_t> kept;
    const auto rank = static_cast<std::int64_t>(out.shape.size());
    for (std::int64_t i = 0; i < rank; ++i) {
        const bool squeeze = axes.empty() ? out.shape[static_cast<std::size_t>(i)] == 1
                                          : std::any_of(axes.begin(), axes.end(), [&](std::int64_t a) {
                                                return (a < 0 ? a + rank : a) == i;
                                            });
        if (!squeeze) kept.push_back(out.shape[static_cast<std::size_t>(i)]);
    }
    out.shape = kept;
    return out;
}

inline constant fold_concat(const import_context& ctx, const node_ctx& n) {
    constant out = integer_constant();
    const auto axis = attr_int(n.proto, "axis", 0);
    for (int i = 0; i < n.proto.input_size(); ++i) {
        const constant& c = ctx.input(n, i).data;
        if (c.shape.size() != 1 || (axis != 0 && axis != -1))
            throw error(n.where, "Concat is folded only on 1-D constants, got " + shape_text(c.shape));
        out.integer = i == 0 ? c.integer : out.integer && c.integer;
        out.values.insert(out.values.end(), c.values.begin(), c.values.end());
    }
    out.shape = {static_cast<std::int64_t>(out.values.size())};
    return out;
}

/// Slice of a constant along its first axis (a 1-D shape vector, or the rows of a 2-D one), any
/// non-zero step: torch's F.pad reverses the [begin, end] pairs of its pads with step -1.
inline constant fold_slice(const import_context& ctx, const node_ctx& n) {
    const constant& data = ctx.input(n, 0).data;
    if (data.shape.empty()) throw error(n.where, "Slice of a scalar");
    const auto len = data.shape[0];
    const auto row = len == 0 ? 0 : static_cast<std::int64_t>(data.values.size()) / len;
    auto first = [&](int i, std::int64_t fallback) {
        return has_input(n.proto, i) ? ctx.input(n, i).data.as_int(0) : fallback;
    };
    std::int64_t start = first(1, 0), end = first(2, len), step = first(4, 1);
    if (has_input(n.proto, 3)) {
        const std::int64_t axis = ctx.input(n, 3).data.as_int(0);
        if (axis != 0 && !(axis == -1 && data.shape.size() == 1))
            throw error(n.where, "Slice of a constant is folded only along axis 0");
    }
    if (step == 0) throw error(n.where, "Slice step must not be 0");
    if (start < 0) start += len;
    if (end < 0) end += len;
    constant out;
    out.integer = data.integer;
    std::int64_t rows = 0;
    const auto take = [&](std::int64_t r) {
        const auto at = data.values.begin() + r * row;
        out.values.insert(out.values.end(), at, at + row);
        ++rows;
    };
    if (step > 0) {
        start = std::clamp<std::int64_t>(start, 0, len);
        end = std::clamp<std::int64_t>(end, start, len);
        for (std::int64_t r = start; r < end; r += step) take(r);
    } else {
        start = std::clamp<std::int64_t>(start, -1, len - 1);
        end = std::clamp<std::int64_t>(end, -1, len - 1);
        for (std::int64_t r = start; r > end; r += step) take(r);
    }
    out.shape = data.shape;
    out.shape[0] = rows;
    return out;
}

/// Add, Sub, Mul and Div of two constants of equal size, or of one with a scalar.
inline constant fold_arithmetic(const import_context& ctx, const node_ctx& n) {
    const std::string& op = n.proto.op_type();
    const constant& a = ctx.input(n, 0).data;
    const constant& b = ctx.input(n, 1).data;
    const bool a_scalar = a.values.size() == 1, b_scalar = b.values.size() == 1;
    if (a.values.size() != b.values.size() && !a_scalar && !b_scalar)
        throw error(n.where, op + " is folded only on constants of equal size or with a scalar");
    constant out;
    out.integer = a.integer && b.integer;
    out.shape = a_scalar && !b_scalar ? b.shape : a.shape;
    const std::size_t size = std::max(a.values.size(), b.values.size());
    for (std::size_t i = 0; i < size; ++i) {
        const double x = a.values[a_scalar ? 0 : i], y = b.values[b_scalar ? 0 : i];
        if (x == batch_extent || y == batch_extent)
            throw error(n.where, op + " on the batch size cannot be folded to a constant");
        double r = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y;
        if (out.integer && op == "Div") r = std::trunc(r);
        out.values.push_back(r);
    }
    return out;
}

}  // namespace stemshare::io::onnx_detail
