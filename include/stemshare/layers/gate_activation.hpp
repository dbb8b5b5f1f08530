#pragma once
/// \file
/// `gate_activation_spec`: the sigmoid-gate activations of today's mobile networks: hard-sigmoid
/// `clip(alpha * x + beta, 0, 1)` (MobileNetV3's squeeze-and-excitation gate), hard-swish
/// `x * relu6(x + 3) / 6` (MobileNetV3) and SiLU/swish `x * sigmoid(x)` (EfficientNet).
///
/// A kind of its own rather than more `activation_kind`s: code that switches over
/// `activation_kind` exhaustively keeps compiling. The trainer plans these in
/// `backend/onednn/training/gate_and_channel_kinds.hpp`.

#include <cstdint>
#include <string_view>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/param.hpp>

namespace stemshare {

enum class gate_kind : std::uint8_t { hard_sigmoid, hard_swish, silu };

[[nodiscard]] constexpr std::string_view to_string(gate_kind k) noexcept {
    switch (k) {
        case gate_kind::hard_sigmoid:
            return "hard_sigmoid";
        case gate_kind::hard_swish:
            return "hard_swish";
        case gate_kind::silu:
            return "silu";
    }
    return "?";
}

struct gate_activation_spec {
    static constexpr std::string_view kind_name = "gate_activation";

    gate_kind kind = gate_kind::hard_swish;
    /// hard_sigmoid only: slope and offset (PyTorch's nn.Hardsigmoid: 1/6 and 1/2; ONNX's
    /// HardSigmoid default: 0.2 and 0.5). The other kinds ignore them.
    float alpha = 1.0F / 6.0F;
    float beta = 0.5F;

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (in.empty()) return "gate_activation: input has a zero extent";
        if (kind == gate_kind::hard_sigmoid && !(alpha > 0.0F))
            return "gate_activation: hard_sigmoid alpha must be positive";
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept { return in; }
    [[nodiscard]] constexpr param_list params(shape) const { return {}; }
    [[nodiscard]] constexpr std::int64_t flops(shape) const noexcept { return 0; }
    friend constexpr bool operator==(const gate_activation_spec&, const gate_activation_spec&) = default;
};

}  // namespace stemshare
