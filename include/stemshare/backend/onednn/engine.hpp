#pragma once
/// \file
/// The process-wide oneDNN CPU engine and the memory-descriptor helpers the backend shares (thread
/// control is in threading.hpp). This folder is the only place that includes oneDNN headers.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/layers/geometry.hpp>

namespace stemshare::onednn {

/// One CPU engine for the process (creating engines is cheap but primitives are engine-bound).
[[nodiscard]] inline const dnnl::engine& cpu_engine() {
    static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

/// oneDNN's instruction set on this CPU, as words ("avx2", "avx512_core_bf16", ...).
[[nodiscard]] inline std::string cpu_isa_name() {
    switch (dnnl::get_effective_cpu_isa()) {
        case dnnl::cpu_isa::sse41:
            return "sse41";
        case dnnl::cpu_isa::avx:
            return "avx";
        case dnnl::cpu_isa::avx2:
            return "avx2";
        case dnnl::cpu_isa::avx2_vnni:
            return "avx2_vnni";
        case dnnl::cpu_isa::avx512_mic:
            return "avx512_mic";
        case dnnl::cpu_isa::avx512_mic_4ops:
            return "avx512_mic_4ops";
        case dnnl::cpu_isa::avx512_core:
            return "avx512_core";
        case dnnl::cpu_isa::avx512_core_vnni:
            return "avx512_core_vnni";
        case dnnl::cpu_isa::avx512_core_bf16:
            return "avx512_core_bf16";
        case dnnl::cpu_isa::avx512_core_amx:
            return "avx512_core_amx";
        default:
            return "unknown";
    }
}

/// True when oneDNN runs bf16 convolutions on native bf16 instructions (AVX512_BF16 or AMX); on
/// plain AVX-512 it emulates them slowly, and on AVX2 it has no bf16 convolution at all.
[[nodiscard]] inline bool has_native_bf16() {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

/// True when oneDNN can create a bf16 convolution here at all (natively or emulated), found by
/// asking it once (creating a primitive throws where this CPU has no implementation for it).
[[nodiscard]] inline bool has_bf16() {
    static const bool available = [] {
        try {
            using dt = dnnl::memory::data_type;
            using tag = dnnl::memory::format_tag;
            const dnnl::memory::desc src({1, 16, 8, 8}, dt::bf16, tag::any);
            const dnnl::memory::desc wei({16, 16, 3, 3}, dt::bf16, tag::any);
            const dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                                    dnnl::algorithm::convolution_direct, src, wei, src,
                                                    {1, 1}, {1, 1}, {1, 1});
            (void)dnnl::convolution_forward::primitive_desc(d, cpu_engine());
            return true;
        } catch (const dnnl::error&) {
            return false;
        }
    }();
    return available;
}

/// Plain row-major descriptor (nchw / oihw / nc / x / goihw) for the given dims.
[[nodiscard]] inline dnnl::memory::desc plain_desc(const dnnl::memory::dims& d,
                                                   dnnl::memory::data_type t = dnnl::memory::data_type::f32) {
    dnnl::memory::dims strides(d.size(), 1);
    for (std::size_t i = d.size(); i-- > 1;) strides[i - 1] = strides[i] * d[i];
    return {d, t, strides};
}

/// A convolution's dilation as oneDNN counts it: the gap between taps, 0 for adjacent ones, where
/// the layers (like PyTorch and ONNX) count 1.
[[nodiscard]] inline dnnl::memory::dims onednn_dilates(const extent2& dilation) {
    return {dilation.h - 1, dilation.w - 1};
}

/// The attributes every primitive of a compiled graph starts from: its scratchpad is passed in
/// (one shared by all primitives) instead of allocated by oneDNN on each run.
[[nodiscard]] inline dnnl::primitive_attr base_attr() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

/// The layout a convolution picks for an activation of `dims` and type `type`, if oneDNN has one
/// for it (asked with a 1x1 convolution: the layouts activations flow in between layers).
[[nodiscard]] inline std::optional<dnnl::memory::desc> convolution_layout(const dnnl::memory::dims& dims,
                                                                          dnnl::memory::data_type type) {
    try {
        using tag = dnnl::memory::format_tag;
        const dnnl::memory::desc any(dims, type, tag::any);
        const dnnl::memory::desc weights({dims[1], dims[1], 1, 1}, type, tag::any);
        const dnnl::convolution_forward::desc probe(dnnl::prop_kind::forward_inference,
                                                    dnnl::algorithm::convolution_direct, any, weights, any,
                                                    {1, 1}, {0, 0}, {0, 0});
        return dnnl::convolution_forward::primitive_desc(probe, base_attr(), cpu_engine()).src_desc();
    } catch (const dnnl::error&) {
        return std::nullopt;
    }
}

/// A stable text of a memory descriptor (dims, type, offset and blocking): the shape-and-layout
/// part of a primitive cache key.
[[nodiscard]] inline std::string describe(const dnnl::memory::desc& md) {
    // Appends only: GCC 12 misreports `"x" + std::string&&` under -O3 (-Wrestrict, bug 105329).
    const dnnl_memory_desc_t& d = md.data;
    std::string s = std::to_string(static_cast<int>(d.data_type));
    s += ':';
    s += std::to_string(static_cast<int>(d.format_kind));
    for (int i = 0; i < d.ndims; ++i) {
        s += i ? 'x' : '[';
        s += std::to_string(d.dims[i]);
    }
    s += ']';
    // A sub-memory view (a channel slice) differs from its parent only in its offset.
    if (d.offset0 != 0) {
        s += 'o';
        s += std::to_string(d.offset0);
    }
    if (d.format_kind == dnnl_blocked) {
        const auto& b = d.format_desc.blocking;
        s += 's';
        for (int i = 0; i < d.ndims; ++i) {
            s += ',';
            s += std::to_string(b.strides[i]);
        }
        s += 'b';
        for (int i = 0; i < b.inner_nblks; ++i) {
            s += ',';
            s += std::to_string(b.inner_idxs[i]);
            s += '/';
            s += std::to_string(b.inner_blks[i]);
        }
    }
    return s;
}

}  // namespace stemshare::onednn
