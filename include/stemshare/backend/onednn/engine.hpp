#pragma once
/// \file
/// The process-wide oneDNN CPU engine, thread control, and the memory-descriptor helpers the
/// backend shares. This folder is the only place that includes oneDNN headers.

#include <omp.h>

#include <cstdint>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>

namespace stemshare::onednn {

/// One CPU engine for the process (creating engines is cheap but primitives are engine-bound).
[[nodiscard]] inline const dnnl::engine& cpu_engine() {
    static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

/// Number of threads a new primitive would use when asked for `requested` (0 = all available).
[[nodiscard]] inline int resolve_threads(int requested) {
    if (requested < 0)
        throw error("onednn", "thread count must be 0 (all) or positive, got " + std::to_string(requested));
    return requested == 0 ? omp_get_num_procs() : requested;
}

/// Debian's oneDNN runs on OpenMP, and a primitive keeps the thread count it was created with
/// (STACK.md P4), so the count is set before creating and before running.
inline void use_threads(int threads) {
    omp_set_num_threads(threads);
}

[[nodiscard]] inline dnnl::memory::dims to_dnnl(const dims& d) {
    return {d.begin(), d.end()};
}

/// Plain row-major descriptor (nchw / oihw / nc / x / goihw) for the given dims.
[[nodiscard]] inline dnnl::memory::desc plain_desc(const dnnl::memory::dims& d,
                                                   dnnl::memory::data_type t = dnnl::memory::data_type::f32) {
    dnnl::memory::dims strides(d.size(), 1);
    for (std::size_t i = d.size(); i-- > 1;) strides[i - 1] = strides[i] * d[i];
    return {d, t, strides};
}

/// A stable text of a memory descriptor (dims, type and blocking): the shape-and-layout part of
/// a primitive cache key.
[[nodiscard]] inline std::string describe(const dnnl::memory::desc& md) {
    const dnnl_memory_desc_t& d = md.data;
    std::string s =
        std::to_string(static_cast<int>(d.data_type)) + ":" + std::to_string(static_cast<int>(d.format_kind));
    for (int i = 0; i < d.ndims; ++i) s += (i ? "x" : "[") + std::to_string(d.dims[i]);
    s += "]";
    if (d.format_kind == dnnl_blocked) {
        const auto& b = d.format_desc.blocking;
        s += "s";
        for (int i = 0; i < d.ndims; ++i) s += "," + std::to_string(b.strides[i]);
        s += "b";
        for (int i = 0; i < b.inner_nblks; ++i)
            s += "," + std::to_string(b.inner_idxs[i]) + "/" + std::to_string(b.inner_blks[i]);
    }
    return s;
}

}  // namespace stemshare::onednn
