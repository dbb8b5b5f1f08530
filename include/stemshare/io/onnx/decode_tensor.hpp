#pragma once
/// \file
/// Decoding an ONNX TensorProto into an `onnx_detail::constant`: raw_data, the typed fields
/// (float_data, double_data, int64_data, int32_data) or external data in a file next to the model.
/// Sizes are checked against the dims before anything is allocated.

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/io/half.hpp>
#include <stemshare/io/file_reader.hpp>
#include <stemshare/io/onnx/constant.hpp>
#include <stemshare/io/onnx/onnx_proto.hpp>

namespace stemshare::io::onnx_detail {

/// An external_data value (`offset`, `length`): a plain decimal integer that fits in 64 bits.
inline std::uint64_t external_number(const std::string& text, const std::string& context,
                                     const std::string& key) {
    std::uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::result_out_of_range)
        throw error(context, "external data '" + key + "' value '" + text + "' is too large");
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size())
        throw error(context,
                    "external data '" + key + "' value '" + text + "' is not a non-negative integer");
    return v;
}

/// Decodes a TensorProto (raw_data, typed fields or external data relative to `base_dir`).
inline constant decode_tensor(const onnx::TensorProto& t, const std::filesystem::path& base_dir,
                              const std::string& where) {
    const std::string context = where + ": tensor '" + t.name() + "'";
    constant c;
    // The element count, capped like safetensors' shapes (each extent at most 2^40, the product at
    // most 2^50) so it cannot overflow; the data actually present is compared with it before the
    // values are allocated.
    std::uint64_t numel = 1;
    for (auto d : t.dims()) {
        if (d < 0) throw error(context, "has a negative extent");
        c.shape.push_back(d);
        const auto extent = static_cast<std::uint64_t>(d);
        if (extent > (1ULL << 40U) || (extent != 0 && numel > (1ULL << 50U) / extent))
            throw error(context, "dims " + shape_text(c.shape) + " are too large");
        numel *= extent;
    }
    const auto count = static_cast<std::size_t>(numel);
    const int type = t.data_type();
    std::size_t elem = 0;
    switch (type) {
        case onnx::TensorProto_DataType_FLOAT:
        case onnx::TensorProto_DataType_INT32:
            elem = 4;
            break;
        case onnx::TensorProto_DataType_DOUBLE:
        case onnx::TensorProto_DataType_INT64:
            elem = 8;
            break;
        case onnx::TensorProto_DataType_FLOAT16:
        case onnx::TensorProto_DataType_BFLOAT16:
            elem = 2;
            break;
        case onnx::TensorProto_DataType_INT8:
        case onnx::TensorProto_DataType_UINT8:
        case onnx::TensorProto_DataType_BOOL:
            elem = 1;
            break;
        default:
            throw error(context, "data type " + data_type_name(type) + " is not supported");
    }
    c.integer = is_integer_type(type);

    std::vector<std::byte> external;  // the external bytes, read with pread (io/file_reader.hpp)
    std::string_view raw;
    if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
        std::string location;
        std::uint64_t offset = 0;
        std::optional<std::uint64_t> length;
        for (const auto& kv : t.external_data()) {
            if (kv.key() == "location")
                location = kv.value();
            else if (kv.key() == "offset")
                offset = external_number(kv.value(), context, "offset");
            else if (kv.key() == "length")
                length = external_number(kv.value(), context, "length");
        }
        if (location.empty()) throw error(context, "external data without a 'location'");
        const std::filesystem::path rel(location);
        if (rel.is_absolute() || std::any_of(rel.begin(), rel.end(), [](const auto& p) { return p == ".."; }))
            throw error(context, "external data location '" + location +
                                     "' must be a relative path inside the model's folder");
        const std::filesystem::path file = base_dir / rel;
        if (!std::filesystem::exists(file))
            throw error(context, "external data file '" + file.string() + "' does not exist");
        const file_reader reader(file);
        const std::size_t size = reader.size();
        const std::uint64_t len = length.value_or(size >= offset ? size - offset : 0);
        if (offset > size || len > size - offset)
            throw error(context, "external data at offset " + std::to_string(offset) + " with length " +
                                     std::to_string(len) + " runs past the end of '" + file.string() + "' (" +
                                     std::to_string(size) + " bytes)");
        if (len != count * elem)  // checked before reading: `len` may be a whole large file
            throw error(context, "holds " + std::to_string(len) + " bytes but dims " + shape_text(c.shape) +
                                     " of " + data_type_name(type) + " need " + std::to_string(count * elem));
        external = reader.read(offset, static_cast<std::size_t>(len));
        raw = std::string_view(reinterpret_cast<const char*>(external.data()), external.size());
    } else if (t.has_raw_data()) {
        raw = t.raw_data();
    }

    if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL || t.has_raw_data()) {
        if (raw.size() != count * elem)
            throw error(context, "holds " + std::to_string(raw.size()) + " bytes but dims " +
                                     shape_text(c.shape) + " of " + data_type_name(type) + " need " +
                                     std::to_string(count * elem));
        c.values.resize(count);
        const char* p = raw.data();
        for (std::size_t i = 0; i < count; ++i, p += elem) {
            switch (type) {
                case onnx::TensorProto_DataType_FLOAT: {
                    float v = 0;
                    std::memcpy(&v, p, 4);
                    c.values[i] = v;
                } break;
                case onnx::TensorProto_DataType_DOUBLE: {
                    double v = 0;
                    std::memcpy(&v, p, 8);
                    c.values[i] = v;
                } break;
                case onnx::TensorProto_DataType_INT32: {
                    std::int32_t v = 0;
                    std::memcpy(&v, p, 4);
                    c.values[i] = v;
                } break;
                case onnx::TensorProto_DataType_INT64: {
                    std::int64_t v = 0;
                    std::memcpy(&v, p, 8);
                    c.values[i] = static_cast<double>(v);
                } break;
                case onnx::TensorProto_DataType_FLOAT16:
                case onnx::TensorProto_DataType_BFLOAT16: {
                    std::uint16_t v = 0;
                    std::memcpy(&v, p, 2);
                    c.values[i] = type == onnx::TensorProto_DataType_FLOAT16 ? f16_to_f32(v) : bf16_to_f32(v);
                } break;
                case onnx::TensorProto_DataType_INT8:
                    c.values[i] = static_cast<std::int8_t>(*p);
                    break;
                default:
                    c.values[i] = static_cast<std::uint8_t>(*p);
                    break;
            }
        }
        return c;
    }

    // Typed fields: floats in float_data, doubles in double_data, int64 in int64_data, and every
    // narrower type (int32, int8, uint8, bool and the 16-bit floats as bit patterns) in int32_data.
    std::size_t have = 0;
    switch (type) {
        case onnx::TensorProto_DataType_FLOAT:
            have = static_cast<std::size_t>(t.float_data_size());
            break;
        case onnx::TensorProto_DataType_DOUBLE:
            have = static_cast<std::size_t>(t.double_data_size());
            break;
        case onnx::TensorProto_DataType_INT64:
            have = static_cast<std::size_t>(t.int64_data_size());
            break;
        default:
            have = static_cast<std::size_t>(t.int32_data_size());
            break;
    }
    if (have != count)
        throw error(context, "holds " + std::to_string(have) + " values but dims " + shape_text(c.shape) +
                                 " need " + std::to_string(count));
    c.values.resize(count);
    switch (type) {
        case onnx::TensorProto_DataType_FLOAT:
            for (std::size_t i = 0; i < count; ++i) c.values[i] = t.float_data(static_cast<int>(i));
            break;
        case onnx::TensorProto_DataType_DOUBLE:
            for (std::size_t i = 0; i < count; ++i) c.values[i] = t.double_data(static_cast<int>(i));
            break;
        case onnx::TensorProto_DataType_INT64:
            for (std::size_t i = 0; i < count; ++i)
                c.values[i] = static_cast<double>(t.int64_data(static_cast<int>(i)));
            break;
        default:
            for (std::size_t i = 0; i < count; ++i) {
                const std::int32_t v = t.int32_data(static_cast<int>(i));
                if (type == onnx::TensorProto_DataType_FLOAT16)
                    c.values[i] = f16_to_f32(static_cast<std::uint16_t>(v));
                else if (type == onnx::TensorProto_DataType_BFLOAT16)
                    c.values[i] = bf16_to_f32(static_cast<std::uint16_t>(v));
                else
                    c.values[i] = v;
            }
            break;
    }
    return c;
}

}  // namespace stemshare::io::onnx_detail
