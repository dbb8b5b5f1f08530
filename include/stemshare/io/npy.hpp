#pragma once
/// \file
/// `io::load_npy`: reads a NumPy .npy file (format versions 1-3) of little-endian float32 or
/// float64 in C order as a `tensor<float>`. Enough for test inputs and reference outputs written
/// by `numpy.save`, without pulling in xtensor.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/io/file_reader.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::io {

namespace detail {
/// The value text of `'key': value` in a .npy header dict (up to the next top-level comma or brace).
inline std::string npy_field(const std::string& header, const std::string& key, const std::string& where) {
    const auto k = header.find("'" + key + "'");
    if (k == std::string::npos) throw error(where, "header has no '" + key + "'");
    auto p = header.find(':', k);
    if (p == std::string::npos) throw error(where, "header field '" + key + "' has no value");
    ++p;
    while (p < header.size() && header[p] == ' ') ++p;
    std::size_t e = p;
    if (e < header.size() && header[e] == '(')
        e = header.find(')', e) + 1;
    else if (e < header.size() && header[e] == '\'')
        e = header.find('\'', e + 1) + 1;
    else
        while (e < header.size() && header[e] != ',' && header[e] != '}') ++e;
    if (e == 0 || e > header.size()) throw error(where, "header field '" + key + "' is malformed");
    return header.substr(p, e - p);
}
/// The extents of a .npy header's 'shape' tuple text. Each extent must be a positive decimal
/// integer, and their product may not exceed `max_count` (the elements the data bytes can hold),
/// so a header claiming a huge shape is refused before anything is allocated.
inline std::vector<std::int64_t> npy_shape(const std::string& text, std::size_t max_count,
                                           const std::string& where) {
    if (text.size() < 2 || text.front() != '(' || text.back() != ')')
        throw error(where, "header field 'shape' is not a tuple: " + text);
    std::vector<std::int64_t> shape;
    std::size_t count = 1;
    std::size_t i = 1;
    const std::size_t end = text.size() - 1;
    while (i < end) {
        while (i < end && text[i] == ' ') ++i;
        std::size_t j = i;
        while (j < end && text[j] != ',') ++j;
        std::size_t k = j;
        while (k > i && text[k - 1] == ' ') --k;
        if (k == i) {
            // Only the end of the tuple may be empty: "( )" (a scalar) or after the comma of "(3,)".
            if (j < end) throw error(where, "header field 'shape' " + text + " has an empty extent");
            break;
        }
        const std::string item = text.substr(i, k - i);
        std::uint64_t extent = 0;
        const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), extent);
        if (ec == std::errc::result_out_of_range)
            throw error(where, "header field 'shape' extent " + item + " is too large");
        if (ec != std::errc{} || ptr != item.data() + item.size())
            throw error(where, "header field 'shape' extent '" + item + "' is not a non-negative integer");
        if (extent == 0) throw error(where, "shape " + text + " has a zero extent");
        if (extent > max_count / count)
            throw error(where, "shape " + text + " needs more elements than the " +
                                   std::to_string(max_count) + " the data bytes after the header hold");
        count *= static_cast<std::size_t>(extent);
        shape.push_back(static_cast<std::int64_t>(extent));
        i = j + 1;
    }
    return shape;
}
}  // namespace detail

[[nodiscard]] inline tensor<float> load_npy(const std::filesystem::path& path) {
    const std::string where = "npy '" + path.string() + "'";
    // One read of the whole file (its real size bounds the buffer), then parsing from memory.
    const std::vector<std::byte> buffer = file_reader(path).read_all();
    const std::span<const std::byte> bytes(buffer);
    if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
        throw error(where, "not a .npy file (bad magic)");
    const auto major = static_cast<unsigned>(bytes[6]);
    std::size_t header_len = 0;
    std::size_t offset = 0;
    if (major == 1) {
        header_len = static_cast<std::size_t>(bytes[8]) | (static_cast<std::size_t>(bytes[9]) << 8U);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw error(where, "truncated header");
        for (std::size_t i = 0; i < 4; ++i) header_len |= static_cast<std::size_t>(bytes[8 + i]) << (8 * i);
        offset = 12;
    } else {
        throw error(where, "unsupported format version " + std::to_string(major));
    }
    if (offset + header_len > bytes.size()) throw error(where, "header runs past the end of the file");
    const std::string header(reinterpret_cast<const char*>(bytes.data() + offset), header_len);

    const std::string descr = detail::npy_field(header, "descr", where);
    std::size_t elem = 0;
    if (descr == "'<f4'")
        elem = 4;
    else if (descr == "'<f8'")
        elem = 8;
    else
        throw error(where, "dtype " + descr + " is not little-endian float32 or float64");
    if (detail::npy_field(header, "fortran_order", where) != "False")
        throw error(where, "Fortran-order arrays are not supported");

    const std::string shape_text = detail::npy_field(header, "shape", where);
    const std::size_t data_offset = offset + header_len;
    const std::size_t present = bytes.size() - data_offset;
    const std::vector<std::int64_t> shape = detail::npy_shape(shape_text, present / elem, where);
    if (shape.size() > dims::max_rank)
        throw error(where, "rank " + std::to_string(shape.size()) + " is too high");
    std::size_t count = 1;
    for (auto e : shape) count *= static_cast<std::size_t>(e);  // bounded by npy_shape
    if (present != count * elem)
        throw error(where, "data has " + std::to_string(present) + " bytes, shape " + shape_text + " needs " +
                               std::to_string(count * elem));
    tensor<float> t{dims(std::span<const std::int64_t>(shape))};
    if (elem == 4) {
        std::memcpy(t.data(), bytes.data() + data_offset, count * 4);
    } else {
        for (std::size_t i = 0; i < count; ++i) {
            double v = 0;
            std::memcpy(&v, bytes.data() + data_offset + 8 * i, 8);
            t[static_cast<std::int64_t>(i)] = static_cast<float>(v);
        }
    }
    return t;
}

}  // namespace stemshare::io
