#pragma once
/// \file
/// Threads. Debian's oneDNN runs on OpenMP, so thread counts of primitives, the machine's cores and
/// work run side by side all go through OpenMP. This is the one header that includes <omp.h>: the
/// backend sets thread counts with it, and the runtime and the trainer use it instead of OpenMP.

#include <omp.h>

#include <cstddef>
#include <exception>
#include <string>

#include <stemshare/core/error.hpp>

// ThreadSanitizer builds (GCC defines __SANITIZE_THREAD__, Clang has the feature): see
// `detail::tsan_release` below.
#if defined(__SANITIZE_THREAD__)
#define STEMSHARE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STEMSHARE_TSAN 1
#endif
#endif
#if defined(STEMSHARE_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace stemshare::onednn {

namespace detail {

/// ThreadSanitizer cannot see OpenMP's fork and join (libgomp is not built with it), so it takes
/// a team thread's reads and the caller's later writes (freeing a plan the team ran, say) for a
/// race; the libgomp suppression hides that only while TSan still has the team thread's stack,
/// which it loses on long runs. `parallel_for` states the hand-offs the barriers make: the caller
/// releases before the team starts and acquires after it ends, each task acquires before and
/// releases after. No code in other builds.
inline void tsan_release([[maybe_unused]] void* sync) noexcept {
#if defined(STEMSHARE_TSAN)
    __tsan_release(sync);
#endif
}
inline void tsan_acquire([[maybe_unused]] void* sync) noexcept {
#if defined(STEMSHARE_TSAN)
    __tsan_acquire(sync);
#endif
}

}  // namespace detail

/// Cores OpenMP may use in this process.
[[nodiscard]] inline int core_count() {
    return omp_get_num_procs();
}

/// The thread count the calling thread's next parallel work would use (OpenMP's current setting,
/// which `use_threads` changes).
[[nodiscard]] inline int max_threads() {
    return omp_get_max_threads();
}

/// Number of threads a new primitive would use when asked for `requested` (0 = all available).
[[nodiscard]] inline int resolve_threads(int requested) {
    if (requested < 0)
        throw error("onednn", "thread count must be 0 (all) or positive, got " + std::to_string(requested));
    return requested == 0 ? core_count() : requested;
}

/// Debian's oneDNN runs on OpenMP, and a primitive keeps the thread count it was created with
/// (docs/architecture.md, "oneDNN backend"), so the count is set before creating and before running.
inline void use_threads(int threads) {
    omp_set_num_threads(threads);
}

/// Runs `task(k)` for k in [0, count) on a team of `team` threads, handing out one task at a time
/// (tasks may differ widely in cost). oneDNN runs a primitive called inside the team on the
/// calling thread alone. Every task runs even when one throws; the first error is rethrown once
/// all have ended, so no task outlives the call.
template <class Task>
void parallel_for(std::ptrdiff_t count, int team, Task&& task) {
    if (count <= 0) return;
    std::exception_ptr failure;
    char fork_sync = 0;  // addresses that name the hand-offs for ThreadSanitizer (detail::tsan_release)
    char join_sync = 0;
    detail::tsan_release(&fork_sync);
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
    for (std::ptrdiff_t k = 0; k < count; ++k) {
        detail::tsan_acquire(&fork_sync);
        try {
            task(k);
        } catch (...) {
#pragma omp critical(stemshare_parallel_for_failure)
            {
                detail::tsan_acquire(&failure);  // the critical section's lock, for ThreadSanitizer
                if (!failure) failure = std::current_exception();
                detail::tsan_release(&failure);
            }
        }
        detail::tsan_release(&join_sync);
    }
    detail::tsan_acquire(&join_sync);
    if (failure) std::rethrow_exception(failure);
}

/// Runs `f()` once on each thread of a team of `team` threads, the calling thread among them:
/// OpenMP keeps a calling thread's team for its later parallel work of the same size (oneDNN's
/// primitives), so this reaches the threads that will do that work (a CPU share gate joins them).
/// The first error is rethrown once every thread has run `f`.
template <class F>
void on_each_team_thread(int team, F&& f) {
    std::exception_ptr failure;
#pragma omp parallel num_threads(team)
    {
        try {
            f();
        } catch (...) {
#pragma omp critical(stemshare_team_failure)
            if (!failure) failure = std::current_exception();
        }
    }
    if (failure) std::rethrow_exception(failure);
}

}  // namespace stemshare::onednn
