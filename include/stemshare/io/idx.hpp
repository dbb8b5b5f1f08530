#pragma once
/// \file
/// IDX files (the MNIST / Fashion-MNIST format), plain or gzipped: a big-endian header (two zero
/// bytes, an element-type byte, a rank byte, then one u32 extent per dimension) followed by the
/// elements. Only unsigned bytes (type 0x08) occur in the datasets stemshare reads, so only they
/// are accepted; everything else is refused with an error naming the file. `read_idx_images`
/// pairs an image file with its label file and scales the pixels to a float tensor in [0, 1].

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <zlib.h>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::io {

/// The elements of one IDX file and their extents (e.g. {60000, 28, 28} or {60000}).
struct idx_array {
    std::vector<std::int64_t> extents;
    std::vector<std::uint8_t> data;

    [[nodiscard]] std::int64_t count() const noexcept { return extents.empty() ? 0 : extents[0]; }
};

/// Parses the bytes of an (already decompressed) IDX file; `source` names it in errors.
[[nodiscard]] inline idx_array parse_idx(std::span<const std::uint8_t> bytes, std::string_view source) {
    const std::string where(source);
    if (bytes.size() < 4)
        throw error(where, "truncated IDX file: " + std::to_string(bytes.size()) + " bytes, no header");
    if (bytes[0] != 0 || bytes[1] != 0)
        throw error(where,
                    "wrong magic: the first two bytes of an IDX file must be zero (is it an IDX file?)");
    if (bytes[2] != 0x08)
        throw error(where, std::string("unsupported IDX element type 0x") +
                               "0123456789abcdef"[bytes[2] / 16] + "0123456789abcdef"[bytes[2] % 16] +
                               " in the magic; only unsigned bytes (0x08) are read");
    const std::size_t rank = bytes[3];
    if (rank == 0 || rank > dims::max_rank)
        throw error(where,
                    "IDX rank " + std::to_string(rank) + " is outside 1.." + std::to_string(dims::max_rank));
    const std::size_t header = 4 + 4 * rank;
    if (bytes.size() < header)
        throw error(where, "truncated IDX file: the header needs " + std::to_string(header) +
                               " bytes, the file has " + std::to_string(bytes.size()));
    idx_array out;
    std::uint64_t total = 1;
    for (std::size_t d = 0; d < rank; ++d) {
        const std::size_t at = 4 + 4 * d;
        const std::uint32_t e = (std::uint32_t{bytes[at]} << 24U) | (std::uint32_t{bytes[at + 1]} << 16U) |
                                (std::uint32_t{bytes[at + 2]} << 8U) | std::uint32_t{bytes[at + 3]};
        if (e == 0) throw error(where, "IDX extent " + std::to_string(d) + " is zero");
        out.extents.push_back(static_cast<std::int64_t>(e));
        total *= e;
        if (total > (std::uint64_t{1} << 40U))
            throw error(where, "IDX extents describe more than 2^40 elements");
    }
    const std::uint64_t have = bytes.size() - header;
    if (have < total)
        throw error(where, "truncated IDX file: the header promises " + std::to_string(total) +
                               " elements (" + std::to_string(out.extents[0]) + " items), the file holds " +
                               std::to_string(have));
    if (have > total)
        throw error(where, "count mismatch: the header promises " + std::to_string(out.extents[0]) +
                               " items (" + std::to_string(total) + " elements) but the file holds " +
                               std::to_string(have) + " element bytes");
    out.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
    return out;
}

/// The most bytes an IDX file may inflate to (1 GiB: Fashion-MNIST's training images are 47 MB).
/// A gzip stream inflates up to ~1000x, so a small file could otherwise claim all memory.
inline constexpr std::size_t max_idx_bytes = std::size_t{1} << 30U;

/// Reads an IDX file, gzipped (".gz") or plain: zlib's gzread passes plain files through. More
/// than `max_bytes` after inflating is refused as soon as it is read.
[[nodiscard]] inline idx_array read_idx(const std::filesystem::path& path, std::size_t max_bytes = max_idx_bytes) {
    const std::string where = path.string();
    if (!std::filesystem::exists(path)) throw error(where, "no such file");
    gzFile f = gzopen(where.c_str(), "rb");
    if (f == nullptr) throw error(where, "cannot open");
    std::vector<std::uint8_t> bytes;
    std::vector<std::uint8_t> chunk(1U << 16U);
    for (;;) {
        const int n = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
        if (n < 0) {
            int code = 0;
            const std::string message = gzerror(f, &code);
            gzclose(f);
            throw error(where, "corrupt gzip data: " + message);
        }
        if (n == 0) break;
        if (static_cast<std::size_t>(n) > max_bytes - bytes.size()) {
            gzclose(f);
            throw error(where, "inflates to more than " + std::to_string(max_bytes) +
                                   " bytes, the limit for an IDX file");
        }
        bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
    }
    int code = 0;
    const std::string message = gzerror(f, &code);
    gzclose(f);
    // A gzip stream cut short reads as a clean end of file but leaves Z_BUF_ERROR behind.
    if (code != Z_OK && code != Z_STREAM_END)
        throw error(where, "truncated or corrupt gzip stream: " + message);
    return parse_idx(bytes, where);
}

/// Images in [0, 1] as {N, 1, rows, cols} and their labels, in file order.
struct labelled_images {
    tensor<float> images;
    std::vector<std::uint8_t> labels;

    [[nodiscard]] std::int64_t size() const noexcept { return static_cast<std::int64_t>(labels.size()); }
};

/// Reads an image file ({N, rows, cols}) and its label file ({N}) and checks that they agree.
[[nodiscard]] inline labelled_images read_idx_images(const std::filesystem::path& images_path,
                                                     const std::filesystem::path& labels_path) {
    const idx_array images = read_idx(images_path);
    const idx_array labels = read_idx(labels_path);
    if (images.extents.size() != 3)
        throw error(images_path.string(), "an image file must have rank 3 {N, rows, cols}, got rank " +
                                              std::to_string(images.extents.size()));
    if (labels.extents.size() != 1)
        throw error(labels_path.string(),
                    "a label file must have rank 1 {N}, got rank " + std::to_string(labels.extents.size()));
    if (images.count() != labels.count())
        throw error(labels_path.string(), "count mismatch: " + std::to_string(labels.count()) +
                                              " labels for " + std::to_string(images.count()) +
                                              " images in " + images_path.string());
    labelled_images out{tensor<float>(dims{images.count(), 1, images.extents[1], images.extents[2]}),
                        labels.data};
    for (std::size_t i = 0; i < images.data.size(); ++i)
        out.images[static_cast<std::int64_t>(i)] = static_cast<float>(images.data[i]) / 255.0F;
    return out;
}

}  // namespace stemshare::io
