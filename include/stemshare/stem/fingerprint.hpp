#pragma once
/// \file
/// `fingerprint`: the identity of a stem segment together with everything before it. It hashes
/// the layer kinds, hyper-parameters (`describe(spec)` plus the exact bits of float
/// hyper-parameters), the wiring and shapes, and the bytes of the weights, chained with the
/// fingerprint of the segment's input, so equal fingerprints mean equal whole prefixes.
///
/// The hash is a 128-bit non-cryptographic one written here (core/digest.hpp did not exist when
/// the trie was written). It only finds candidates: the trie also compares the weights byte by
/// byte before it shares a node, so a collision can cost a missed share, never a wrong result.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <variant>

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

/// Streaming 128-bit hasher: two 64-bit lanes with different multipliers and rotations, fed
/// 8 bytes at a time, finished with the splitmix64 avalanche. Fast enough to digest ResNet-50's
/// 100 MB of weights in well under a second.
class hasher {
public:
    hasher& bytes(const void* data, std::size_t size) noexcept {
        const auto* p = static_cast<const unsigned char*>(data);
        length_ += size;
        while (size > 0) {
            const std::size_t take = std::min<std::size_t>(size, 8 - pending_size_);
            std::memcpy(pending_ + pending_size_, p, take);
            pending_size_ += take;
            p += take;
            size -= take;
            if (pending_size_ == 8) {
                std::uint64_t w = 0;
                std::memcpy(&w, pending_, 8);
                mix(w);
                pending_size_ = 0;
            }
        }
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
        std::uint64_t a = a_;
        std::uint64_t b = b_;
        if (pending_size_ > 0) {
            std::uint64_t w = 0;
            std::memcpy(&w, pending_, pending_size_);
            a = step_a(a, w);
            b = step_b(b, w);
        }
        a ^= length_;
        b ^= length_ * 0x9e3779b97f4a7c15ULL;
        return {avalanche(a ^ std::rotl(b, 17)), avalanche(b + a)};
    }

private:
    static constexpr std::uint64_t step_a(std::uint64_t a, std::uint64_t w) noexcept {
        return std::rotl(a ^ (w * 0x87c37b91114253d5ULL), 31) * 0x4cf5ad432745937fULL;
    }
    static constexpr std::uint64_t step_b(std::uint64_t b, std::uint64_t w) noexcept {
        return std::rotl(b + (w * 0xff51afd7ed558ccdULL), 27) * 0xc4ceb9fe1a85ec53ULL + 0x52dce729ULL;
    }
    static constexpr std::uint64_t avalanche(std::uint64_t z) noexcept {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    void mix(std::uint64_t w) noexcept {
        a_ = step_a(a_, w);
        b_ = step_b(b_, w);
    }

    std::uint64_t a_ = 0x243f6a8885a308d3ULL;
    std::uint64_t b_ = 0x13198a2e03707344ULL;
    std::uint64_t length_ = 0;
    unsigned char pending_[8]{};
    std::size_t pending_size_ = 0;
};

namespace detail {
/// Float hyper-parameters that `describe` prints rounded (batch-norm epsilon) go in as raw bits.
inline void hash_exact_hyper_parameters(hasher& h, const layer_spec& spec) {
    if (const auto* bn = std::get_if<batch_norm_spec>(&spec)) h.f32(bn->epsilon);
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
