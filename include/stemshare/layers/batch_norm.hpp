#pragma once
/// \file
/// `batch_norm_spec`: inference-mode batch normalisation, y = (x - mean) / sqrt(var + eps) * weight + bias.
/// When it follows a convolution, `fold_batch_norms` merges it into that convolution's weights.

#include <string_view>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/param.hpp>

namespace stemshare {

/// Parameters, each {channels}: "weight" (gamma), "bias" (beta), "running_mean", "running_var".
struct batch_norm_spec {
    static constexpr std::string_view kind_name = "batch_norm";

    float epsilon = 1e-5F;

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (!(epsilon >= 0.0F)) return "batch_norm: epsilon must be a non-negative number";
        if (in.empty()) return "batch_norm: input has a zero extent";
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept { return in; }
    [[nodiscard]] constexpr param_list params(shape in) const {
        return {{"weight", dims{in.c}},
                {"bias", dims{in.c}},
                {"running_mean", dims{in.c}},
                {"running_var", dims{in.c}}};
    }
    [[nodiscard]] constexpr std::int64_t flops(shape) const noexcept { return 0; }
    friend constexpr bool operator==(const batch_norm_spec&, const batch_norm_spec&) = default;
};

}  // namespace stemshare
