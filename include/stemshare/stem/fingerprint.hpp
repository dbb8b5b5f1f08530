#pragma once
/// \file
/// `fingerprint`: the identity of a stem segment together with everything before it. It hashes
/// the layer kinds, hyper-parameters (`describe(spec)` plus the exact bits of float
/// hyper-parameters), the wiring and shapes, and the bytes of the weights, chained with the
/// fingerprint of the segment's input, so equal fingerprints mean equal whole prefixes.
///
/// The hash is SHA-256 (core/digest.hpp) cut to 128 bits. It only finds candidates: the trie also
/// compares the weights byte by byte before it shares a node, so even a collision could cost a
/// missed share, never a wrong result.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include <stemshare/core/digest.hpp>
#include <stemshare/graph/graph.hpp>

namespace stemshare::stem {

/// 128-bit identity of a prefix of a model, up to and including one segment.
struct fingerprint {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;

    friend constexpr bool operator==(const fingerprint&, const fingerprint&) = default;
    friend constexpr auto operator<=>(const fingerprint&, const fingerprint&) = default;
};

/// 32 hex digits, for reports and cache keys.
[[nodiscard]] inline std::string to_string(const fingerprint& f) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(32, '0');
    for (int i = 0; i < 16; ++i) {
        s[static_cast<std::size_t>(15 - i)] = digits[(f.hi >> (4 * i)) & 0xFU];
        s[static_cast<std::size_t>(31 - i)] = digits[(f.lo >> (4 * i)) & 0xFU];
    }
    return s;
}

/// Streaming hasher over typed fields, on top of the library's SHA-256 (`stemshare::digest`);
/// a fingerprint keeps the first 128 bits.
class hasher {
public:
    hasher& bytes(const void* data, std::size_t size) noexcept {
        digest_.update(data, size);
        return *this;
    }
    hasher& text(std::string_view s) noexcept {
        u64(s.size());
        return bytes(s.data(), s.size());
    }
    hasher& u64(std::uint64_t v) noexcept { return bytes(&v, sizeof v); }
    hasher& i64(std::int64_t v) noexcept { return u64(static_cast<std::uint64_t>(v)); }
    hasher& f32(float v) noexcept { return u64(std::bit_cast<std::uint32_t>(v)); }
    hasher& with(const fingerprint& f) noexcept { return u64(f.hi).u64(f.lo); }

    [[nodiscard]] fingerprint finish() const noexcept {
        digest copy = digest_;
        const digest::value_type v = copy.value();
        fingerprint f;
        for (std::size_t i = 0; i < 8; ++i) {
            f.hi = (f.hi << 8U) | v[i];
            f.lo = (f.lo << 8U) | v[8 + i];
        }
        return f;
    }

private:
    digest digest_;
};

namespace detail {
/// Float hyper-parameters (batch-norm epsilon) also go in as raw bits, whatever `describe` prints.
inline void hash_exact_hyper_parameters(hasher& h, const layer_spec& spec) {
    if (const auto* bn = std::get_if<batch_norm_spec>(&spec)) h.f32(bn->epsilon);
    if (const auto* g = std::get_if<gate_activation_spec>(&spec); g && g->kind == gate_kind::hard_sigmoid) {
        h.f32(g->alpha);
        h.f32(g->beta);
    }
}
}  // namespace detail

/// Fingerprint of `segment` (a slice of a model: one input, one output) read after the prefix
/// whose fingerprint is `parent`. Layer names are left out: two exports of one model name layers
/// differently but compute the same thing.
[[nodiscard]] inline fingerprint fingerprint_of(const graph& segment, const fingerprint& parent) {
    hasher h;
    h.with(parent);
    const shape in = segment.input_shape();
    h.i64(in.c).i64(in.h).i64(in.w).u64(segment.size());
    for (const node& n : segment.nodes()) {
        h.text(describe(n.spec));
        detail::hash_exact_hyper_parameters(h, n.spec);
        h.u64(n.inputs.size());
        for (std::size_t i = 0; i < n.inputs.size(); ++i)
            h.i64(n.inputs[i]).i64(n.input_shapes[i].c).i64(n.input_shapes[i].h).i64(n.input_shapes[i].w);
        h.u64(n.params.size());
        for (const auto& p : n.params) {
            for (auto e : p.extents()) h.i64(e);
            h.bytes(p.data(), static_cast<std::size_t>(p.numel()) * sizeof(float));
        }
    }
    return h.finish();
}

/// True when two segments compute the same function bit for bit: same input shape, layers,
/// wiring and weight bytes (names aside). What the trie checks before sharing a node.
[[nodiscard]] inline bool same_segment(const graph& a, const graph& b) {
    if (a.input_shape() != b.input_shape() || a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const node& x = a.nodes()[i];
        const node& y = b.nodes()[i];
        if (!(x.spec == y.spec) || x.inputs != y.inputs || x.params.size() != y.params.size()) return false;
        for (std::size_t p = 0; p < x.params.size(); ++p) {
            if (!(x.params[p].extents() == y.params[p].extents())) return false;
            if (std::memcmp(x.params[p].data(), y.params[p].data(),
                            static_cast<std::size_t>(x.params[p].numel()) * sizeof(float)) != 0)
                return false;
        }
    }
    return true;
}

}  // namespace stemshare::stem
