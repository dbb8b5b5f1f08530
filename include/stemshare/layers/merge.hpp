#pragma once
/// \file
/// Layers with several inputs: `add_spec` (element-wise sum, residual connections) and
/// `concat_spec` (channel concatenation, inception blocks).

#include <cstdint>
#include <span>
#include <string_view>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/param.hpp>

namespace stemshare {

struct add_spec {
    static constexpr std::string_view kind_name = "add";

    [[nodiscard]] constexpr diagnostic check(std::span<const shape> in) const {
        if (in.size() < 2) return "add: needs at least two inputs";
        for (const auto& s : in) {
            if (s.empty()) return "add: an input has a zero extent";
            if (s != in[0]) return "add: inputs have different shapes";
        }
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(std::span<const shape> in) const noexcept { return in[0]; }
    [[nodiscard]] constexpr std::int64_t flops(std::span<const shape>) const noexcept { return 0; }
    friend constexpr bool operator==(const add_spec&, const add_spec&) = default;
};

struct concat_spec {
    static constexpr std::string_view kind_name = "concat";

    [[nodiscard]] constexpr diagnostic check(std::span<const shape> in) const {
        if (in.size() < 2) return "concat: needs at least two inputs";
        for (const auto& s : in) {
            if (s.empty()) return "concat: an input has a zero extent";
            if (s.h != in[0].h || s.w != in[0].w) return "concat: inputs differ in height or width";
        }
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(std::span<const shape> in) const noexcept {
        shape out = in[0];
        out.c = 0;
        for (const auto& s : in) out.c += s.c;
        return out;
    }
    [[nodiscard]] constexpr std::int64_t flops(std::span<const shape>) const noexcept { return 0; }
    friend constexpr bool operator==(const concat_spec&, const concat_spec&) = default;
};

}  // namespace stemshare
