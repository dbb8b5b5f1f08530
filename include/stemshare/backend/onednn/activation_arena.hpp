#pragma once
/// \file
/// `activation_arena`: the memory of a compiled graph's intermediate values and of its primitives'
/// scratchpad. While a graph is lowered, values are memory objects without bytes; each step that
/// touches one extends its lifetime. `allocate` then places every value with the shared
/// `liveness_plan` (two values share bytes when no step needs both), allocates one arena and one
/// scratchpad, and points every memory object at its bytes.
///
/// Nothing of either outlives a run: every value is written before it is read, and primitives
/// write the zero padding of the blocked values they produce. So graphs that never run at the
/// same time may run in one caller's workspace instead (`use_workspace`): a runtime plan of many
/// segments then touches one workspace per frame, not one arena and scratchpad per segment.

#include <algorithm>
#include <cstddef>
#include <limits>
#include <memory>
#include <new>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/core/liveness_plan.hpp>

namespace stemshare::onednn::detail {

class activation_arena {
public:
    /// A new value of layout `md` with bytes of its own.
    dnnl::memory add(const dnnl::memory::desc& md) {
        dnnl::memory m(md, cpu_engine(), DNNL_MEMORY_NONE);
        lifetimes_.push_back({.bytes = md.get_size()});
        register_view(m, lifetimes_.size() - 1, 0);
        owners_.insert(m.get());
        return m;
    }

    /// Another layout `md` over the bytes of the value `of`, from `byte_offset` on.
    dnnl::memory alias(const dnnl::memory& of, const dnnl::memory::desc& md, std::size_t byte_offset = 0) {
        const view& parent = views_[view_of_.at(of.get())];
        dnnl::memory m(md, cpu_engine(), DNNL_MEMORY_NONE);
        register_view(m, parent.buffer, parent.byte_offset + byte_offset);
        return m;
    }

    /// Whether `m` is a value (or a view of one) of this arena; the graph input the caller passes
    /// is not.
    [[nodiscard]] bool holds(const dnnl::memory& m) const { return view_of_.contains(m.get()); }
    /// Whether `m` is a value made by `add` (all of its bytes, in the layout they were made for),
    /// not a view of part of another value (a concat's range, a slice): a step may then overwrite
    /// it in place once nothing else reads it.
    [[nodiscard]] bool owns(const dnnl::memory& m) const { return owners_.contains(m.get()); }

    /// A view of the scratchpad all primitives share, for a primitive whose scratchpad is `md`.
    dnnl::memory scratchpad(const dnnl::memory::desc& md) {
        dnnl::memory m(md, cpu_engine(), DNNL_MEMORY_NONE);
        scratchpad_bytes_ = std::max(scratchpad_bytes_, md.get_size());
        scratch_views_.push_back(m);
        return m;
    }

    /// Keeps the bytes of `m` live up to step `step`, if `m` is a value of this arena.
    void use(const dnnl::memory& m, std::size_t step) {
        if (const auto it = buffer_of_.find(m.get()); it != buffer_of_.end()) {
            lifetime& b = lifetimes_[it->second];
            b.first = std::min(b.first, step);
            b.last = std::max(b.last, step);
        }
    }

    /// Places every value, allocates the arena and the scratchpad, and points every memory object
    /// at its bytes. Called once, after the last step was added.
    void allocate() {
        liveness_plan plan;
        for (lifetime& b : lifetimes_) {
            if (b.first > b.last) b.first = b.last = 0;  // never used by a step: any slot will do
            plan.add(b.bytes, b.first, b.last);
        }
        plan.solve();
        arena_bytes_ = plan.arena_bytes();
        unshared_bytes_ = plan.requested_bytes();
        for (auto& v : views_) v.byte_offset += plan.offset(v.buffer);
        use_workspace(nullptr);
        lifetimes_.clear();
        buffer_of_.clear();
        view_of_.clear();
        owners_.clear();
    }

    /// Bytes of the arena (all values, overlapping where lifetimes allow).
    [[nodiscard]] std::size_t bytes() const noexcept { return arena_bytes_; }
    /// Bytes the values would take with one buffer each.
    [[nodiscard]] std::size_t unshared_bytes() const noexcept { return unshared_bytes_; }
    /// Bytes of the shared scratchpad.
    [[nodiscard]] std::size_t scratchpad_bytes() const noexcept { return scratchpad_bytes_; }
    /// Bytes of one workspace holding both: the arena, then the scratchpad from the next page on.
    [[nodiscard]] std::size_t workspace_bytes() const noexcept {
        return scratchpad_bytes_ == 0 ? arena_bytes_ : scratchpad_offset() + scratchpad_bytes_;
    }

    /// Points every value and the scratchpad into `bytes` (`workspace_bytes()` of them, aligned to
    /// a page) and frees the bytes of its own; nullptr: back to bytes of its own. Only between runs.
    void use_workspace(std::byte* bytes) {
        if (bytes == nullptr) {
            if (!arena_ && arena_bytes_ > 0)
                arena_.reset(new (std::align_val_t{page}) std::byte[arena_bytes_]);
            if (!scratchpad_ && scratchpad_bytes_ > 0)
                scratchpad_.reset(new (std::align_val_t{page}) std::byte[scratchpad_bytes_]);
            point_at(arena_.get(), scratchpad_.get());
            return;
        }
        point_at(bytes, bytes + scratchpad_offset());
        arena_.reset();
        scratchpad_.reset();
    }

private:
    /// A value's bytes, live from step `first` to step `last`.
    struct lifetime {
        std::size_t bytes = 0;
        std::size_t first = std::numeric_limits<std::size_t>::max();
        std::size_t last = 0;
    };
    /// A memory object over arena bytes: value `buffer`, `byte_offset` bytes in (into the value while
    /// lowering, into the arena once allocated).
    struct view {
        dnnl::memory memory;
        std::size_t buffer = 0;
        std::size_t byte_offset = 0;
    };
    struct aligned_bytes_delete {
        void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{page}); }
    };
    static constexpr std::size_t page = 4096;

    [[nodiscard]] std::size_t scratchpad_offset() const noexcept {
        return (arena_bytes_ + page - 1) / page * page;
    }

    void point_at(std::byte* arena, std::byte* scratchpad) {
        for (auto& v : views_) v.memory.set_data_handle(arena + v.byte_offset);
        for (auto& m : scratch_views_) m.set_data_handle(scratchpad);
    }

    void register_view(const dnnl::memory& m, std::size_t buffer, std::size_t byte_offset) {
        buffer_of_.emplace(m.get(), buffer);
        view_of_.emplace(m.get(), views_.size());
        views_.push_back({m, buffer, byte_offset});
    }

    std::vector<view> views_;
    std::vector<dnnl::memory> scratch_views_;
    std::unique_ptr<std::byte[], aligned_bytes_delete> arena_;
    std::unique_ptr<std::byte[], aligned_bytes_delete> scratchpad_;
    std::size_t arena_bytes_ = 0;
    std::size_t unshared_bytes_ = 0;
    std::size_t scratchpad_bytes_ = 0;
    // Only used while lowering.
    std::vector<lifetime> lifetimes_;
    std::unordered_map<dnnl_memory_t, std::size_t> buffer_of_;
    std::unordered_map<dnnl_memory_t, std::size_t> view_of_;
    std::unordered_set<dnnl_memory_t> owners_;
};

}  // namespace stemshare::onednn::detail
