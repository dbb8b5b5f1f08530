#pragma once
/// \file
/// `onednn::training_arena`: every buffer a training step touches, planned up front and carved out
/// of one allocation. Memories are created without storage while the primitives are planned;
/// `allocate()` then lays them out (64-byte aligned) and points each at its place, so a step
/// itself never allocates.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/core/error.hpp>

namespace stemshare::onednn {

class training_arena {
public:
    /// A new buffer of `md`'s size. Its storage exists after `allocate()`.
    dnnl::memory make(const dnnl::memory::desc& md) {
        dnnl::memory m(md, cpu_engine(), DNNL_MEMORY_NONE);
        buffers_.push_back({{m}, md.get_size(), 0});
        return m;
    }

    /// A memory with descriptor `md` on the storage of `base` (an earlier `make`), e.g. a 4D and a
    /// 2D view of one dense output. `md` must not be larger than `base`.
    dnnl::memory alias(const dnnl::memory& base, const dnnl::memory::desc& md) {
        for (auto& b : buffers_)
            for (const auto& m : b.views)
                if (m.get() == base.get()) {
                    if (md.get_size() > b.bytes)
                        throw error("training_arena", "alias larger than its buffer");
                    dnnl::memory view(md, cpu_engine(), DNNL_MEMORY_NONE);
                    b.views.push_back(view);
                    return view;
                }
        throw error("training_arena", "alias of a memory the arena does not own");
    }

    /// Lays out every buffer and binds the memories to it; returns the arena's size in bytes.
    std::size_t allocate() {
        std::size_t at = 0;
        for (auto& b : buffers_) {
            b.offset = at;
            at += (b.bytes + alignment - 1) / alignment * alignment;
        }
        bytes_ = at;
        storage_.reset(static_cast<std::byte*>(
            ::operator new (std::max<std::size_t>(bytes_, 1), std::align_val_t{alignment})));
        for (auto& b : buffers_)
            for (auto& m : b.views) m.set_data_handle(storage_.get() + b.offset);
        return bytes_;
    }

    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

private:
    static constexpr std::size_t alignment = 64;
    struct buffer {
        std::vector<dnnl::memory> views;
        std::size_t bytes;
        std::size_t offset;
    };
    struct aligned_delete {
        void operator()(std::byte* p) const noexcept { ::operator delete (p, std::align_val_t{alignment}); }
    };
    std::vector<buffer> buffers_;
    std::unique_ptr<std::byte, aligned_delete> storage_;
    std::size_t bytes_ = 0;
};

}  // namespace stemshare::onednn
