#pragma once
/// \file
/// `liveness_plan`: places buffers in one preallocated arena from their lifetimes, counted in
/// steps of whatever runs them (a compiled graph's primitives, an execution plan's stem steps).
/// Each buffer is live from the step that writes it to the last step that reads it; buffers
/// whose lifetimes do not overlap may share bytes. Placement is greedy by size (largest first,
/// lowest offset that fits), the usual heuristic of inference arenas. Backend-neutral: the oneDNN
/// backend and the runtime both plan with it.

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>

namespace stemshare {

class liveness_plan {
public:
    /// Every buffer starts on this boundary (a cache line; what vector loads want).
    static constexpr std::size_t alignment = 64;

    /// Declares a buffer of `bytes` written at step `first` and last read at step `last`;
    /// returns its index. It takes `bytes` rounded up to `alignment` (at least one line).
    std::size_t add(std::size_t bytes, std::size_t first, std::size_t last) {
        if (last < first) throw error("liveness_plan", "a buffer cannot die before it is written");
        buffers_.push_back({bytes, round_up(std::max<std::size_t>(bytes, 1)), first, last, 0});
        solved_ = false;
        return buffers_.size() - 1;
    }

    /// Assigns offsets. Two buffers that are live at a common step never overlap in memory.
    /// Larger requests are placed first; equal requests in the order they were added, so a plan
    /// is the same on every run.
    void solve() {
        std::vector<std::size_t> order(buffers_.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return buffers_[a].requested > buffers_[b].requested;
        });
        std::vector<std::size_t> placed;
        arena_bytes_ = 0;
        for (std::size_t i : order) {
            buffer& b = buffers_[i];
            std::vector<std::pair<std::size_t, std::size_t>> taken;  // [begin, end) of live neighbours
            for (std::size_t j : placed)
                if (overlaps_in_time(b, buffers_[j]))
                    taken.emplace_back(buffers_[j].offset, buffers_[j].offset + buffers_[j].bytes);
            std::sort(taken.begin(), taken.end());
            std::size_t offset = 0;
            for (const auto& [begin, end] : taken) {
                if (offset + b.bytes <= begin) break;
                offset = std::max(offset, end);
            }
            b.offset = offset;
            arena_bytes_ = std::max(arena_bytes_, offset + b.bytes);
            placed.push_back(i);
        }
        solved_ = true;
    }

    [[nodiscard]] std::size_t size() const noexcept { return buffers_.size(); }
    [[nodiscard]] std::size_t offset(std::size_t i) const {
        if (!solved_) throw error("liveness_plan", "offsets asked before solve()");
        return buffers_.at(i).offset;
    }
    /// Bytes the arena needs.
    [[nodiscard]] std::size_t arena_bytes() const noexcept { return arena_bytes_; }
    /// Bytes without reuse (every buffer its own, aligned), to show what the plan saves.
    [[nodiscard]] std::size_t total_bytes() const noexcept {
        std::size_t total = 0;
        for (const auto& b : buffers_) total += b.bytes;
        return total;
    }
    /// The bytes asked for, summed over all buffers (no alignment).
    [[nodiscard]] std::size_t requested_bytes() const noexcept {
        std::size_t total = 0;
        for (const auto& b : buffers_) total += b.requested;
        return total;
    }
    /// True when buffers `a` and `b` are live at a common step.
    [[nodiscard]] bool live_together(std::size_t a, std::size_t b) const {
        return overlaps_in_time(buffers_.at(a), buffers_.at(b));
    }
    /// Bytes buffer `i` occupies (its request rounded up to `alignment`).
    [[nodiscard]] std::size_t bytes(std::size_t i) const { return buffers_.at(i).bytes; }

private:
    struct buffer {
        std::size_t requested;
        std::size_t bytes;
        std::size_t first;
        std::size_t last;
        std::size_t offset;
    };
    static constexpr std::size_t round_up(std::size_t n) noexcept {
        return (n + alignment - 1) / alignment * alignment;
    }
    static constexpr bool overlaps_in_time(const buffer& a, const buffer& b) noexcept {
        return a.first <= b.last && b.first <= a.last;
    }

    std::vector<buffer> buffers_;
    std::size_t arena_bytes_ = 0;
    bool solved_ = false;
};

}  // namespace stemshare
