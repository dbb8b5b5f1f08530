#pragma once
/// \file
/// `multiply_spec`: the element-wise product of two inputs, the second of the first's shape or
/// one value per channel ({c, 1, 1}, broadcast over height and width): squeeze-and-excitation's
/// channel gate (MobileNetV3, EfficientNet), and SiLU or hard-swish as ONNX writes them at low
/// opsets (x * Sigmoid(x), x * HardSigmoid(x)).

#include <cstdint>
#include <span>
#include <string_view>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>

namespace stemshare {

struct multiply_spec {
    static constexpr std::string_view kind_name = "multiply";

    [[nodiscard]] constexpr diagnostic check(std::span<const shape> in) const {
        if (in.size() != 2) return "multiply: needs exactly two inputs";
        if (in[0].empty() || in[1].empty()) return "multiply: an input has a zero extent";
        if (in[1] == in[0]) return {};
        if (in[1].c == in[0].c && in[1].h == 1 && in[1].w == 1) return {};
        return "multiply: the second input must have the first's shape or one value per channel ({c, 1, 1})";
    }
    [[nodiscard]] constexpr shape output_shape(std::span<const shape> in) const noexcept { return in[0]; }
    [[nodiscard]] constexpr std::int64_t flops(std::span<const shape> in) const noexcept {
        return in[0].c * in[0].h * in[0].w;
    }
    friend constexpr bool operator==(const multiply_spec&, const multiply_spec&) = default;
};

}  // namespace stemshare
