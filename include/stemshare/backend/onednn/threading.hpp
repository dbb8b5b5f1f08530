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

namespace stemshare::onednn {

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
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
    for (std::ptrdiff_t k = 0; k < count; ++k) {
        try {
            task(k);
        } catch (...) {
#pragma omp critical(stemshare_parallel_for_failure)
            if (!failure) failure = std::current_exception();
        }
    }
    if (failure) std::rethrow_exception(failure);
}

}  // namespace stemshare::onednn
