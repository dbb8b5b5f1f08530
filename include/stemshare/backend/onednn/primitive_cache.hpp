#pragma once
/// \file
/// `primitive_cache`: process-wide cache of created oneDNN primitives, keyed by layer kind +
/// hyper-parameters + input/output memory descriptors + fused post-ops + thread count. Apps that
/// share a base model (and a model compiled twice) reuse one primitive per distinct layer, and
/// the JIT cost (milliseconds per primitive; docs/architecture.md, "Toolchain facts") is paid once.

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include <stemshare/backend/onednn/engine.hpp>

namespace stemshare::onednn {

struct cached_primitive {
    dnnl::primitive_desc_base pd;
    dnnl::primitive primitive;
};

class primitive_cache {
public:
    /// Returns the primitive stored under `key`, creating it with `make` on a miss.
    cached_primitive get_or_create(const std::string& key, const std::function<cached_primitive()>& make) {
        {
            std::lock_guard lock(mutex_);
            if (auto it = entries_.find(key); it != entries_.end()) {
                ++hits_;
                return it->second;
            }
        }
        cached_primitive created = make();  // outside the lock: creation may JIT for milliseconds
        std::lock_guard lock(mutex_);
        ++misses_;
        return entries_.try_emplace(key, std::move(created)).first->second;
    }

    [[nodiscard]] std::size_t size() const {
        std::lock_guard lock(mutex_);
        return entries_.size();
    }
    [[nodiscard]] std::size_t hits() const {
        std::lock_guard lock(mutex_);
        return hits_;
    }
    [[nodiscard]] std::size_t misses() const {
        std::lock_guard lock(mutex_);
        return misses_;
    }
    void clear() {
        std::lock_guard lock(mutex_);
        entries_.clear();
        hits_ = misses_ = 0;
    }

    /// The cache every compiled graph uses.
    static primitive_cache& global() {
        static primitive_cache cache;
        return cache;
    }

private:
    mutable std::mutex mutex_;
    std::unordered_map<std::string, cached_primitive> entries_;
    std::size_t hits_ = 0;
    std::size_t misses_ = 0;
};

}  // namespace stemshare::onednn
