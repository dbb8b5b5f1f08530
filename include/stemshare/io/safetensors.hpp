#pragma once
/// \file
/// safetensors read and write (https://github.com/huggingface/safetensors, format section): an
/// 8-byte little-endian header length N, N bytes of JSON mapping tensor names to
/// {dtype, shape, data_offsets} (plus an optional "__metadata__" string map), then the raw
/// little-endian tensor data.
///
/// Reading opens the file and validates the whole header at open: a header length past the end,
/// offsets out of range, overlapping tensors, bytes that belong to no tensor, unknown dtypes and
/// shape/size mismatches are all rejected with an error naming the file and tensor. Data is not
/// read until `load(name)` (with `pread`, io/file_reader.hpp: a file truncated meanwhile is an
/// error naming it, not a SIGBUS), which converts F32/F16/BF16/F64 to f32 and **rejects** NaN and
/// infinity (a non-finite weight poisons every output) unless the options allow them.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/dtype.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/io/half.hpp>
#include <stemshare/io/atomic_file.hpp>
#include <stemshare/io/file_reader.hpp>
#include <stemshare/io/json_file.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::io {

static_assert(std::endian::native == std::endian::little,
              "stemshare::io reads little-endian weight files directly; add byte swapping for this target");

/// The element types of the safetensors format.
enum class st_dtype : std::uint8_t {
    f64,
    f32,
    f16,
    bf16,
    i64,
    i32,
    i16,
    i8,
    u64,
    u32,
    u16,
    u8,
    boolean,
    f8_e4m3,
    f8_e5m2
};

[[nodiscard]] constexpr std::string_view to_string(st_dtype t) noexcept {
    constexpr std::string_view names[] = {"F64", "F32", "F16", "BF16", "I64",  "I32",     "I16",    "I8",
                                          "U64", "U32", "U16", "U8",   "BOOL", "F8_E4M3", "F8_E5M2"};
    return names[static_cast<std::size_t>(t)];
}
[[nodiscard]] constexpr std::size_t element_size(st_dtype t) noexcept {
    constexpr std::size_t sizes[] = {8, 4, 2, 2, 8, 4, 2, 1, 8, 4, 2, 1, 1, 1, 1};
    return sizes[static_cast<std::size_t>(t)];
}
/// Types `load` converts to f32.
[[nodiscard]] constexpr bool is_loadable_float(st_dtype t) noexcept {
    return t == st_dtype::f32 || t == st_dtype::f16 || t == st_dtype::bf16 || t == st_dtype::f64;
}
[[nodiscard]] inline std::optional<st_dtype> parse_st_dtype(std::string_view s) noexcept {
    for (std::size_t i = 0; i <= static_cast<std::size_t>(st_dtype::f8_e5m2); ++i)
        if (to_string(static_cast<st_dtype>(i)) == s) return static_cast<st_dtype>(i);
    return std::nullopt;
}

/// One tensor's header entry. Offsets are relative to the start of the data section.
struct safetensors_entry {
    std::string name;
    st_dtype dtype = st_dtype::f32;
    std::vector<std::int64_t> shape;
    std::size_t begin = 0;
    std::size_t end = 0;

    [[nodiscard]] std::int64_t numel() const noexcept {
        std::int64_t n = 1;
        for (auto e : shape) n *= e;
        return n;
    }
};

enum class non_finite_policy : std::uint8_t {
    reject,  ///< `load` throws, naming the tensor and the first bad index (default)
    allow,   ///< values are returned as they are
};

struct safetensors_options {
    non_finite_policy non_finite = non_finite_policy::reject;
};

namespace detail {
inline std::string st_shape_text(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

/// Converts `count` elements of `dtype` at `src` (any alignment) to f32.
inline void convert_to_f32(st_dtype dtype, const std::byte* src, std::size_t count, float* dst) {
    switch (dtype) {
        case st_dtype::f32:
            std::memcpy(dst, src, count * 4);
            return;
        case st_dtype::f16:
        case st_dtype::bf16:
            for (std::size_t i = 0; i < count; ++i) {
                std::uint16_t bits = 0;
                std::memcpy(&bits, src + 2 * i, 2);
                dst[i] = dtype == st_dtype::f16 ? f16_to_f32(bits) : bf16_to_f32(bits);
            }
            return;
        case st_dtype::f64:
            for (std::size_t i = 0; i < count; ++i) {
                double v = 0;
                std::memcpy(&v, src + 8 * i, 8);
                dst[i] = static_cast<float>(v);
            }
            return;
        default:
            return;
    }
}
}  // namespace detail

/// A validated safetensors file, kept open; tensors are read when loaded.
class safetensors_file {
public:
    /// Opens and validates `path`. Throws `stemshare::error` whose context is the file path.
    explicit safetensors_file(const std::filesystem::path& path, safetensors_options options = {})
        : file_(std::make_shared<file_reader>(path)), options_(options) {
        parse_header();
    }

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return file_->path(); }
    /// Every tensor, in the order of their data in the file (for a PyTorch writer that streams the
    /// state_dict, its parameter order).
    [[nodiscard]] const std::vector<safetensors_entry>& entries() const noexcept { return entries_; }
    [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
    [[nodiscard]] bool contains(std::string_view name) const { return find(name) != nullptr; }
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
    /// Names of the tensors `load` can read (floating-point dtypes), in data order.
    [[nodiscard]] std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : entries_)
            if (is_loadable_float(e.dtype)) out.push_back(e.name);
        return out;
    }
    /// "safetensors '<path>'", how errors name this file.
    [[nodiscard]] std::string source() const { return where(); }

    /// The header entry of `name`; throws naming the file and the tensor when absent.
    [[nodiscard]] const safetensors_entry& entry(std::string_view name) const {
        const safetensors_entry* e = find(name);
        if (e == nullptr) throw error(where(), "no tensor named '" + std::string(name) + "'");
        return *e;
    }
    /// The tensor's bytes as stored (read now; throws naming the file if it has shrunk since opening).
    [[nodiscard]] std::vector<std::byte> raw(std::string_view name) const {
        const safetensors_entry& e = entry(name);
        return file_->read(data_start_ + e.begin, e.end - e.begin);
    }
    /// The tensor as f32 with its shape as dims (the one copy, made here).
    [[nodiscard]] tensor<float> load(std::string_view name) const {
        const safetensors_entry& e = entry(name);
        const std::string context = where() + ": tensor '" + e.name + "'";
        if (!is_loadable_float(e.dtype))
            throw error(context,
                        "dtype " + std::string(to_string(e.dtype)) +
                            " is not a floating-point type stemshare can load (F32, F16, BF16, F64)");
        if (e.shape.size() > dims::max_rank)
            throw error(context, "rank " + std::to_string(e.shape.size()) + " is above " +
                                     std::to_string(dims::max_rank));
        if (std::any_of(e.shape.begin(), e.shape.end(), [](std::int64_t x) { return x == 0; }))
            throw error(context, "shape " + detail::st_shape_text(e.shape) + " has a zero extent");
        tensor<float> t{dims(std::span<const std::int64_t>(e.shape))};
        if (e.dtype == st_dtype::f32) {  // straight into the tensor: no second copy
            file_->read(data_start_ + e.begin, std::as_writable_bytes(t.values()));
        } else {
            const std::vector<std::byte> bytes = raw(name);
            detail::convert_to_f32(e.dtype, bytes.data(), static_cast<std::size_t>(t.numel()), t.data());
        }
        if (options_.non_finite == non_finite_policy::reject) {
            const auto values = t.values();
            const auto bad =
                std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
            if (bad != values.end())
                throw error(context, std::string("has a non-finite value (") +
                                         (std::isnan(*bad) ? "NaN" : "infinity") + ") at index " +
                                         std::to_string(bad - values.begin()) +
                                         "; non-finite weights are rejected");
        }
        return t;
    }
    /// The tensor's extents as dims (for shape checks before loading).
    [[nodiscard]] dims extents(std::string_view name) const {
        const safetensors_entry& e = entry(name);
        if (e.shape.size() > dims::max_rank)
            throw error(
                where() + ": tensor '" + e.name + "'",
                "rank " + std::to_string(e.shape.size()) + " is above " + std::to_string(dims::max_rank));
        return dims(std::span<const std::int64_t>(e.shape));
    }

private:
    [[nodiscard]] std::string where() const { return "safetensors '" + file_->path().string() + "'"; }

    [[nodiscard]] const safetensors_entry* find(std::string_view name) const {
        const auto it = index_.find(std::string(name));
        return it == index_.end() ? nullptr : &entries_[it->second];
    }

    void parse_header() {
        static constexpr std::uint64_t max_header = 100ULL << 20U;  // the reference reader's limit
        const std::size_t file_size = file_->size();
        if (file_size < 8)
            throw error(where(), "truncated file: " + std::to_string(file_size) +
                                     " bytes, but a safetensors file starts with an 8-byte header length");
        std::uint64_t header_len = 0;
        file_->read(0, std::as_writable_bytes(std::span(&header_len, 1)));
        if (header_len > file_size - 8)
            throw error(where(), "header length " + std::to_string(header_len) +
                                     " runs past the end of the file (" + std::to_string(file_size) +
                                     " bytes); the file is truncated or not safetensors");
        if (header_len > max_header)
            throw error(where(),
                        "header length " + std::to_string(header_len) + " is above the 100 MiB limit");
        if (header_len < 2)
            throw error(where(),
                        "header of " + std::to_string(header_len) + " bytes cannot be a JSON object");
        data_start_ = 8 + static_cast<std::size_t>(header_len);
        const std::size_t data_size = file_size - data_start_;

        const std::vector<std::byte> header_bytes = file_->read(8, static_cast<std::size_t>(header_len));
        const auto* text = reinterpret_cast<const char*>(header_bytes.data());
        // Nesting bounded too (io/json_file.hpp): 100 MiB of '[' would otherwise build ~50M nodes.
        const nlohmann::json header = parse_json(std::string_view(text, static_cast<std::size_t>(header_len)),
                                                 where() + ": header", max_header);
        if (!header.is_object()) throw error(where(), "header must be a JSON object");

        for (const auto& [name, value] : header.items()) {
            if (name == "__metadata__") {
                if (!value.is_object()) throw error(where(), "__metadata__ must be an object of strings");
                for (const auto& [k, v] : value.items()) {
                    if (!v.is_string())
                        throw error(where(), "__metadata__ value '" + k + "' is not a string");
                    metadata_[k] = v.get<std::string>();
                }
                continue;
            }
            entries_.push_back(parse_entry(name, value, data_size));
        }

        std::sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
            return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
        });
        std::size_t covered = 0;
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            const auto& e = entries_[i];
            if (i > 0 && e.begin < entries_[i - 1].end)
                throw error(where(), "tensor '" + e.name + "' data_offsets [" + std::to_string(e.begin) +
                                         ", " + std::to_string(e.end) + ") overlap tensor '" +
                                         entries_[i - 1].name + "' [" +
                                         std::to_string(entries_[i - 1].begin) + ", " +
                                         std::to_string(entries_[i - 1].end) + ")");
            if (e.begin > covered)
                throw error(where(), "data bytes [" + std::to_string(covered) + ", " +
                                         std::to_string(e.begin) + ") belong to no tensor (before tensor '" +
                                         e.name + "')");
            covered = std::max(covered, e.end);
        }
        if (covered != data_size)
            throw error(where(), "data bytes [" + std::to_string(covered) + ", " + std::to_string(data_size) +
                                     ") at the end of the file belong to no tensor");
        for (std::size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].name, i);
    }

    safetensors_entry parse_entry(const std::string& name, const nlohmann::json& value,
                                  std::size_t data_size) const {
        const std::string context = where() + ": tensor '" + name + "'";
        if (!value.is_object())
            throw error(context, "entry must be an object with dtype, shape and data_offsets");
        for (const char* field : {"dtype", "shape", "data_offsets"})
            if (!value.contains(field)) throw error(context, std::string("missing field '") + field + "'");
        safetensors_entry e;
        e.name = name;
        if (!value["dtype"].is_string()) throw error(context, "dtype must be a string");
        const std::string dtype_name = value["dtype"].get<std::string>();
        const auto dtype = parse_st_dtype(dtype_name);
        if (!dtype) throw error(context, "unknown dtype '" + dtype_name + "'");
        e.dtype = *dtype;

        const auto& shape = value["shape"];
        if (!shape.is_array()) throw error(context, "shape must be an array of non-negative integers");
        std::uint64_t numel = 1;
        for (const auto& x : shape) {
            if (!x.is_number_unsigned())
                throw error(context, "shape must be an array of non-negative integers");
            const auto extent = x.get<std::uint64_t>();
            if (extent > (1ULL << 40U) || (extent != 0 && numel > (1ULL << 50U) / extent))
                throw error(context, "shape " + shape.dump() + " is too large");
            numel *= extent;
            e.shape.push_back(static_cast<std::int64_t>(extent));
        }

        const auto& offsets = value["data_offsets"];
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
            !offsets[1].is_number_unsigned())
            throw error(context, "data_offsets must be [begin, end], two non-negative integers");
        const auto begin = offsets[0].get<std::uint64_t>();
        const auto end = offsets[1].get<std::uint64_t>();
        if (begin > end || end > data_size)
            throw error(context, "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                     "] are out of range: the data section has " + std::to_string(data_size) +
                                     " bytes");
        const std::uint64_t expected = numel * element_size(e.dtype);
        if (end - begin != expected)
            throw error(context, "shape " + detail::st_shape_text(e.shape) + " of " + dtype_name + " needs " +
                                     std::to_string(expected) + " bytes, but data_offsets span " +
                                     std::to_string(end - begin));
        e.begin = static_cast<std::size_t>(begin);
        e.end = static_cast<std::size_t>(end);
        return e;
    }

    std::shared_ptr<file_reader> file_;
    safetensors_options options_;
    std::size_t data_start_ = 0;
    std::vector<safetensors_entry> entries_;
    std::map<std::string, std::size_t> index_;
    std::map<std::string, std::string> metadata_;
};

/// A tensor to write: its name and a view of its f32 values.
struct named_view {
    std::string name;
    tensor_view<const float> value;
};

/// Storage type for written tensors.
enum class storage_dtype : std::uint8_t { f32, f16, bf16 };

struct safetensors_write_options {
    storage_dtype storage = storage_dtype::f32;
    std::map<std::string, std::string> metadata{};
};

/// Writes `tensors` in the given order (their data in that order, the header listing them in that
/// order) to `path` atomically (io/atomic_file.hpp): a reader never sees half a file and a failed
/// write leaves the old file intact. Throws for duplicate, empty or reserved names and for I/O
/// failures.
inline void write_safetensors(const std::filesystem::path& path, std::span<const named_view> tensors,
                              const safetensors_write_options& options = {}) {
    const std::string where = "safetensors '" + path.string() + "'";
    const std::size_t elem = options.storage == storage_dtype::f32 ? 4 : 2;
    const char* dtype_name = options.storage == storage_dtype::f32   ? "F32"
                             : options.storage == storage_dtype::f16 ? "F16"
                                                                     : "BF16";
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!options.metadata.empty()) header["__metadata__"] = options.metadata;
    std::size_t offset = 0;
    for (const auto& t : tensors) {
        if (t.name.empty() || t.name == "__metadata__")
            throw error(where, "tensor name '" + t.name + "' is empty or reserved");
        if (header.contains(t.name)) throw error(where, "tensor name '" + t.name + "' appears twice");
        const auto bytes = static_cast<std::size_t>(t.value.numel()) * elem;
        header[t.name] = {
            {"dtype", dtype_name},
            {"shape", std::vector<std::int64_t>(t.value.extents().begin(), t.value.extents().end())},
            {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // 8-byte aligned data, as the reference writer does

    atomic_file out(path, where);
    const std::uint64_t len = text.size();
    out.write(std::as_bytes(std::span(&len, 1)));
    out.write(text);
    std::vector<std::uint16_t> halves;
    for (const auto& t : tensors) {
        const auto values = t.value.values();
        if (options.storage == storage_dtype::f32) {
            out.write(std::as_bytes(values));
            continue;
        }
        halves.resize(values.size());
        for (std::size_t i = 0; i < values.size(); ++i)
            halves[i] = options.storage == storage_dtype::f16 ? f32_to_f16(values[i]) : bf16(values[i]).bits;
        out.write(std::as_bytes(std::span<const std::uint16_t>(halves)));
    }
    out.commit();
}

}  // namespace stemshare::io
