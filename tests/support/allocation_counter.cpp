// Replaces the global operator new / delete with counting ones (see allocation_counter.hpp). Kept
// in its own TU so test TUs are inlined and warned about like normal code.
#include "allocation_counter.hpp"

#include <dlfcn.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<std::uint64_t> allocations{0};
std::atomic<bool> recording{false};
std::atomic<std::size_t> recorded{0};
std::array<void*, stemshare::test::allocation_recorder::capacity> callers{};

void* counted_alloc(std::size_t n, std::size_t alignment, void* caller) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (recording.load(std::memory_order_relaxed)) {
        const std::size_t k = recorded.fetch_add(1);
        if (k < callers.size()) callers[k] = caller;
    }
    if (n == 0) n = 1;
    void* p = alignment <= alignof(std::max_align_t)
                  ? std::malloc(n)
                  : std::aligned_alloc(alignment, (n + alignment - 1) / alignment * alignment);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

}  // namespace

namespace stemshare::test {

std::uint64_t allocation_count() noexcept {
    return allocations.load(std::memory_order_relaxed);
}

allocation_recorder::allocation_recorder() {
    recorded = 0;
    recording = true;
}
allocation_recorder::~allocation_recorder() {
    recording = false;
}

std::size_t allocation_recorder::count() const noexcept {
    return recorded.load();
}

std::size_t allocation_recorder::outside(std::string_view library, std::string* first_callers) const {
    const std::size_t total = std::min(recorded.load(), callers.size());
    std::size_t found = 0;
    for (std::size_t k = 0; k < total; ++k) {
        Dl_info info{};
        const bool known = dladdr(callers[k], &info) != 0 && info.dli_fname != nullptr;
        if (known && std::string_view(info.dli_fname).find(library) != std::string_view::npos) continue;
        if (++found <= 3 && first_callers != nullptr && known) {
            *first_callers += ' ';
            *first_callers += info.dli_fname;
            *first_callers += '+';
            *first_callers += std::to_string(static_cast<const char*>(callers[k]) -
                                             static_cast<const char*>(info.dli_fbase));
        }
    }
    return found + (recorded.load() - total);  // callers past the capacity count as outside
}

}  // namespace stemshare::test

void* operator new(std::size_t n) {
    return counted_alloc(n, 0, __builtin_return_address(0));
}
void* operator new[](std::size_t n) {
    return counted_alloc(n, 0, __builtin_return_address(0));
}
void* operator new(std::size_t n, std::align_val_t a) {
    return counted_alloc(n, static_cast<std::size_t>(a), __builtin_return_address(0));
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return counted_alloc(n, static_cast<std::size_t>(a), __builtin_return_address(0));
}
// The nothrow forms too (std::stable_sort's temporary buffer uses them): left to the default,
// they would allocate with the runtime's operator new and free with ours (ASan: a mismatch).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n, 0, __builtin_return_address(0));
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n, 0, __builtin_return_address(0));
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n, static_cast<std::size_t>(a), __builtin_return_address(0));
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n, static_cast<std::size_t>(a), __builtin_return_address(0));
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
