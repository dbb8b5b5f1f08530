#pragma once
/// \file
/// `dense_spec`: fully connected layer. Any input shape is read in NCHW flatten order, so a
/// dense layer after `flatten` or directly after a feature map gives PyTorch's answer.

#include <cstdint>
#include <string_view>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/param.hpp>

namespace stemshare {

/// Weights are {out_features, c * h * w} ("weight"), bias {out_features} ("bias").
struct dense_spec {
    static constexpr std::string_view kind_name = "dense";

    std::int64_t out_features = 0;
    bool bias = true;

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (out_features <= 0) return "dense: out_features must be positive";
        if (in.empty()) return "dense: input has a zero extent";
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(shape) const noexcept { return {out_features, 1, 1}; }
    [[nodiscard]] constexpr param_list params(shape in) const {
        param_list p{{"weight", dims{out_features, in.numel()}}};
        if (bias) p.push_back({"bias", dims{out_features}});
        return p;
    }
    [[nodiscard]] constexpr std::int64_t flops(shape in) const noexcept {
        return 2 * out_features * in.numel();
    }
    friend constexpr bool operator==(const dense_spec&, const dense_spec&) = default;
};

}  // namespace stemshare
