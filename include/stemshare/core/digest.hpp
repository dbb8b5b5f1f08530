#pragma once
/// \file
/// `digest`: SHA-256 (FIPS 180-4) over bytes, written from the specification so that the core
/// needs no crypto library. stemshare uses it to identify weights: two layers whose weights give
/// the same digest are the same frozen layer (the stem trie shares them), and M-Packages record
/// the digest of their base model so a reader can tell that a stem file is the one they were
/// trained from. SHA-256 rather than a 64-bit hash because a collision would silently merge two
/// different models' stems.
///
/// Usage: `digest d; d.update(bytes); d.update(more); std::string hex = d.hex();` or
/// `digest::of(bytes).hex()`. Feeding the same bytes in any split gives the same value.

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace stemshare {

class digest {
public:
    /// The 32 bytes of a finished SHA-256.
    using value_type = std::array<std::uint8_t, 32>;

    digest() = default;

    /// Appends bytes to the message.
    digest& update(std::span<const std::byte> bytes) noexcept {
        if (finished_) return *this;
        const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
        std::size_t n = bytes.size();
        length_ += n;
        if (buffered_ > 0) {
            const std::size_t take = std::min(n, block_size - buffered_);
            std::memcpy(buffer_.data() + buffered_, p, take);
            buffered_ += take;
            p += take;
            n -= take;
            if (buffered_ < block_size) return *this;
            compress(buffer_.data());
            buffered_ = 0;
        }
        for (; n >= block_size; n -= block_size, p += block_size) compress(p);
        if (n > 0) std::memcpy(buffer_.data(), p, n);
        buffered_ = n;
        return *this;
    }
    digest& update(const void* data, std::size_t size) noexcept {
        return update(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
    }
    digest& update(std::string_view text) noexcept { return update(text.data(), text.size()); }
    /// Appends the object representation of trivially copyable values (little-endian on every
    /// platform stemshare supports); used for floats and integer extents.
    template <class T>
    requires std::is_trivially_copyable_v<T> digest& update(std::span<const T> values) noexcept {
        return update(values.data(), values.size_bytes());
    }

    /// Pads and returns the hash. Further `update` calls are ignored; `value()` stays valid.
    [[nodiscard]] value_type value() noexcept {
        if (!finished_) finish();
        value_type out{};
        for (std::size_t i = 0; i < 8; ++i)
            for (std::size_t b = 0; b < 4; ++b)
                out[i * 4 + b] = static_cast<std::uint8_t>(state_[i] >> (24 - 8 * b));
        return out;
    }
    /// The hash as 64 lowercase hex digits.
    [[nodiscard]] std::string hex() noexcept { return to_hex(value()); }

    [[nodiscard]] static digest of(std::span<const std::byte> bytes) noexcept {
        digest d;
        d.update(bytes);
        return d;
    }
    [[nodiscard]] static digest of(std::string_view text) noexcept {
        digest d;
        d.update(text);
        return d;
    }
    [[nodiscard]] static std::string to_hex(const value_type& v) {
        static constexpr char digits[] = "0123456789abcdef";
        std::string s;
        s.reserve(64);
        for (std::uint8_t b : v) {
            s += digits[b >> 4U];
            s += digits[b & 15U];
        }
        return s;
    }

private:
    static constexpr std::size_t block_size = 64;

    static constexpr std::array<std::uint32_t, 64> k_ = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

    void compress(const std::uint8_t* block) noexcept {
        std::array<std::uint32_t, 64> w{};
        for (std::size_t i = 0; i < 16; ++i)
            w[i] = (std::uint32_t{block[4 * i]} << 24U) | (std::uint32_t{block[4 * i + 1]} << 16U) |
                   (std::uint32_t{block[4 * i + 2]} << 8U) | std::uint32_t{block[4 * i + 3]};
        for (std::size_t i = 16; i < 64; ++i) {
            const std::uint32_t s0 = std::rotr(w[i - 15], 7) ^ std::rotr(w[i - 15], 18) ^ (w[i - 15] >> 3U);
            const std::uint32_t s1 = std::rotr(w[i - 2], 17) ^ std::rotr(w[i - 2], 19) ^ (w[i - 2] >> 10U);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
        std::uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
        for (std::size_t i = 0; i < 64; ++i) {
            const std::uint32_t s1 = std::rotr(e, 6) ^ std::rotr(e, 11) ^ std::rotr(e, 25);
            const std::uint32_t ch = (e & f) ^ (~e & g);
            const std::uint32_t t1 = h + s1 + ch + k_[i] + w[i];
            const std::uint32_t s0 = std::rotr(a, 2) ^ std::rotr(a, 13) ^ std::rotr(a, 22);
            const std::uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
            const std::uint32_t t2 = s0 + maj;
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state_[0] += a;
        state_[1] += b;
        state_[2] += c;
        state_[3] += d;
        state_[4] += e;
        state_[5] += f;
        state_[6] += g;
        state_[7] += h;
    }

    void finish() noexcept {
        const std::uint64_t bits = length_ * 8U;
        buffer_[buffered_++] = 0x80;
        if (buffered_ > block_size - 8) {
            std::memset(buffer_.data() + buffered_, 0, block_size - buffered_);
            compress(buffer_.data());
            buffered_ = 0;
        }
        std::memset(buffer_.data() + buffered_, 0, block_size - 8 - buffered_);
        for (std::size_t i = 0; i < 8; ++i)
            buffer_[block_size - 1 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
        compress(buffer_.data());
        finished_ = true;
    }

    std::array<std::uint32_t, 8> state_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                           0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::array<std::uint8_t, block_size> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t length_ = 0;
    bool finished_ = false;
};

}  // namespace stemshare
