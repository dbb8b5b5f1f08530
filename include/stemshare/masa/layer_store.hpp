#pragma once
/// \file
/// `masa::layer_store`: a model's weights on disk, readable one segment (the layers between two
/// branch points) at a time. The file is plain safetensors (tensor "<layer>.<param>", in layer
/// order, so a segment's tensors are one contiguous byte range); a read `pread`s exactly those
/// bytes into the tensors the caller's memory budget accounts for, never mapping the whole file.
///
/// Reads are cold by default: the range is dropped from the page cache afterwards
/// (`posix_fadvise(DONTNEED)`), so the next request reads from the device again, as on a box
/// whose page cache cannot hold the models. `read_options::bandwidth_bytes_per_s` emulates slower
/// storage (an SD card) by sleeping until the read has taken bytes / bandwidth of one device that
/// every read in the process shares: reads running at once queue for it, as on one card (a cap
/// per read would let two workers read at twice the card's speed). It is labelled emulated
/// wherever it is reported.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/io/safetensors.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::masa {

/// How a segment is read.
struct read_options {
    /// Drop the bytes from the page cache after reading (a cold read next time).
    bool cold = true;
    /// Emulated read bandwidth in bytes per second; 0 = the device's own speed.
    double bandwidth_bytes_per_s = 0;
};

/// One tensor of a segment: which layer and parameter it binds, and where its bytes lie.
struct stored_tensor {
    std::size_t layer = 0;
    dims extents;
    std::uint64_t file_offset = 0;
    std::uint64_t bytes = 0;
};

/// The layers [begin, end) between two consecutive branch points and their bytes in the file.
struct stored_segment {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::vector<stored_tensor> tensors;
    [[nodiscard]] std::uint64_t bytes() const {
        std::uint64_t total = 0;
        for (const auto& t : tensors) total += t.bytes;
        return total;
    }
};

/// The f32 tensors of one segment, per layer of the segment (layer begin + i at index i).
using segment_weights = std::vector<std::vector<tensor<float>>>;

class layer_store {
public:
    /// Writes the bound graph `g`'s weights to `path` and indexes them by the graph's branch points.
    static layer_store write(const graph& g, const std::filesystem::path& path) {
        std::vector<io::named_view> views;
        for (std::size_t i = 0; i < g.size(); ++i) {
            const node& n = g.at(i);
            if (!n.is_bound())
                throw error("masa::layer_store: layer '" + n.name + "'", "has no weights bound");
            for (std::size_t p = 0; p < n.params.size(); ++p)
                views.push_back({tensor_name(i, p), n.params[p].view()});
        }
        io::write_safetensors(path, views);
        return layer_store(g, path);
    }

    /// Indexes an existing file written by `write` for graph `g` (shapes checked now).
    layer_store(const graph& g, std::filesystem::path path) : path_(std::move(path)) {
        const io::safetensors_file file(path_);
        const std::uint64_t data_start = data_offset();
        const auto points = g.branch_points();
        for (std::size_t s = 0; s + 1 < points.size(); ++s) {
            stored_segment seg{.begin = points[s], .end = points[s + 1], .tensors = {}};
            for (std::size_t i = seg.begin; i < seg.end; ++i) {
                const param_list descs = g.at(i).param_descs();
                for (std::size_t p = 0; p < descs.size(); ++p) {
                    const auto& e = file.entry(tensor_name(i, p));
                    if (e.dtype != io::st_dtype::f32 || dims(e.shape) != descs[p].extents)
                        throw error(where(),
                                    "tensor '" + e.name + "' is not f32 " + to_string(descs[p].extents));
                    seg.tensors.push_back({.layer = i,
                                           .extents = descs[p].extents,
                                           .file_offset = data_start + e.begin,
                                           .bytes = e.end - e.begin});
                }
            }
            segments_.push_back(std::move(seg));
        }
    }

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] const std::vector<stored_segment>& segments() const noexcept { return segments_; }
    [[nodiscard]] std::uint64_t total_bytes() const {
        std::uint64_t total = 0;
        for (const auto& s : segments_) total += s.bytes();
        return total;
    }

    /// Reads segment `s` with `pread`, opening the file for this read only (a file deleted or
    /// truncated since indexing fails here, naming the file and the segment).
    /// The emulated device (one per process): a transfer of `seconds` asked for at `start` begins
    /// when the device is free and the device stays busy until it ends; returns that end.
    static std::chrono::steady_clock::time_point emulated_device_done(
        std::chrono::steady_clock::time_point start, double seconds) {
        static std::mutex mutex;
        static std::chrono::steady_clock::time_point free_at;
        const std::lock_guard lock(mutex);
        const auto begin = std::max(start, free_at);
        free_at = begin + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(seconds));
        return free_at;
    }

    [[nodiscard]] segment_weights read(std::size_t s, const read_options& options = {}) const {
        const stored_segment& seg = segments_.at(s);
        const std::string who = where() + " segment " + std::to_string(s) + " (layers " +
                                std::to_string(seg.begin) + ".." + std::to_string(seg.end) + ")";
        const auto start = std::chrono::steady_clock::now();
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw error(who, std::string("cannot open: ") + std::strerror(errno));
        segment_weights out(seg.end - seg.begin);
        std::uint64_t first = 0;
        std::uint64_t last = 0;
        try {
            for (const auto& t : seg.tensors) {
                tensor<float> value(t.extents);
                read_exact(fd, reinterpret_cast<std::byte*>(value.data()), t.bytes, t.file_offset, who);
                out[t.layer - seg.begin].push_back(std::move(value));
                first = first == 0 ? t.file_offset : first;
                last = t.file_offset + t.bytes;
            }
        } catch (...) {
            ::close(fd);
            throw;
        }
        if (options.cold && last > first)
            (void)::posix_fadvise(fd, static_cast<off_t>(first), static_cast<off_t>(last - first),
                                  POSIX_FADV_DONTNEED);
        ::close(fd);
        if (options.bandwidth_bytes_per_s > 0)
            std::this_thread::sleep_until(emulated_device_done(
                start, static_cast<double>(seg.bytes()) / options.bandwidth_bytes_per_s));
        return out;
    }

    /// Drops the whole file from the page cache (before a cold run).
    void drop_cache() const {
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }

private:
    static std::string tensor_name(std::size_t layer, std::size_t param) {
        return "l" + std::to_string(layer) + "." + std::to_string(param);
    }
    [[nodiscard]] std::string where() const { return "masa weights '" + path_.string() + "'"; }

    /// Start of the data section: 8 + the little-endian header length.
    [[nodiscard]] std::uint64_t data_offset() const {
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw error(where(), std::string("cannot open: ") + std::strerror(errno));
        std::uint64_t header = 0;
        try {
            read_exact(fd, reinterpret_cast<std::byte*>(&header), sizeof header, 0, where());
        } catch (...) {
            ::close(fd);
            throw;
        }
        ::close(fd);
        return 8 + header;
    }

    static void read_exact(int fd, std::byte* dst, std::uint64_t bytes, std::uint64_t offset,
                           const std::string& who) {
        std::uint64_t done = 0;
        while (done < bytes) {
            const ssize_t got = ::pread(fd, dst + done, bytes - done, static_cast<off_t>(offset + done));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw error(who, std::string("read failed: ") + std::strerror(errno));
            if (got == 0)
                throw error(who, "file is truncated: needs bytes [" + std::to_string(offset) + ", " +
                                     std::to_string(offset + bytes) + "), ends at " +
                                     std::to_string(offset + done));
            done += static_cast<std::uint64_t>(got);
        }
    }

    std::filesystem::path path_;
    std::vector<stored_segment> segments_;
};

}  // namespace stemshare::masa
