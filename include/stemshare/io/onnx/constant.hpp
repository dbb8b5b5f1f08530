#pragma once
/// \file
/// `onnx_detail::constant`: a constant tensor met while importing ONNX (an initializer, a Constant
/// node or a folded shape op), and the small helpers every importer stage uses to print one.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <stemshare/core/dims.hpp>
#include <stemshare/io/onnx/onnx_proto.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::io::onnx_detail {

/// Stands for the batch extent in folded shape constants; it only survives as the leading
/// extent a Reshape keeps.
inline constexpr std::int64_t batch_extent = std::numeric_limits<std::int64_t>::min();

/// A constant tensor met during import: an initializer, a Constant node or a folded shape op.
struct constant {
    std::vector<std::int64_t> shape;
    bool integer = false;
    std::vector<double> values;  // exact for the int64 extents of shape arithmetic and for f32 weights

    [[nodiscard]] std::int64_t numel() const {
        std::int64_t n = 1;
        for (auto e : shape) n *= e;
        return n;
    }
    /// Saturating: INT64_MAX (Slice's "to the end", stored as the double 2^63) does not fit an
    /// int64_t, and a plain cast of it is undefined (INT64_MIN on x86, which reads as "before
    /// the start").
    [[nodiscard]] std::int64_t as_int(std::size_t i) const {
        constexpr double limit = 9223372036854775808.0;  // 2^63
        if (values[i] >= limit) return std::numeric_limits<std::int64_t>::max();
        if (values[i] < -limit) return std::numeric_limits<std::int64_t>::min();
        return static_cast<std::int64_t>(values[i]);
    }
};

/// `[N, 3, 224, 224]`, with N for the batch marker.
inline std::string shape_text(const std::vector<std::int64_t>& s) {
    std::string t = "[";
    for (std::size_t i = 0; i < s.size(); ++i)
        t += (i ? ", " : "") + (s[i] == batch_extent ? std::string("N") : std::to_string(s[i]));
    return t + "]";
}

/// ONNX's name of a TensorProto data type ("FLOAT16"), or "type 42" for a value it does not know.
inline std::string data_type_name(int t) {
    return onnx::TensorProto_DataType_IsValid(t)
               ? onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(t))
               : "type " + std::to_string(t);
}

/// Whether values of ONNX data type `t` are integers (everything but the four float types).
[[nodiscard]] inline bool is_integer_type(std::int64_t t) {
    return t != onnx::TensorProto_DataType_FLOAT && t != onnx::TensorProto_DataType_DOUBLE &&
           t != onnx::TensorProto_DataType_FLOAT16 && t != onnx::TensorProto_DataType_BFLOAT16;
}

/// A constant's values as an f32 tensor of the given dims (the importer has checked the count).
inline tensor<float> to_tensor(const constant& c, dims extents) {
    tensor<float> t(extents);
    for (std::size_t i = 0; i < c.values.size(); ++i)
        t[static_cast<std::int64_t>(i)] = static_cast<float>(c.values[i]);
    return t;
}

}  // namespace stemshare::io::onnx_detail
