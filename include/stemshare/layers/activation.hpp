#pragma once
/// \file
/// `activation_spec`: element-wise relu, relu6 (clip to [0, 6]) or sigmoid.

#include <cstdint>
#include <string_view>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/param.hpp>

namespace stemshare {

enum class activation_kind : std::uint8_t { relu, relu6, sigmoid };

[[nodiscard]] constexpr std::string_view to_string(activation_kind k) noexcept {
    switch (k) {
        case activation_kind::relu:
            return "relu";
        case activation_kind::relu6:
            return "relu6";
        case activation_kind::sigmoid:
            return "sigmoid";
    }
    return "?";
}

struct activation_spec {
    static constexpr std::string_view kind_name = "activation";

    activation_kind kind = activation_kind::relu;

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (in.empty()) return "activation: input has a zero extent";
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept { return in; }
    [[nodiscard]] constexpr param_list params(shape) const { return {}; }
    [[nodiscard]] constexpr std::int64_t flops(shape) const noexcept { return 0; }
    friend constexpr bool operator==(const activation_spec&, const activation_spec&) = default;
};

}  // namespace stemshare
