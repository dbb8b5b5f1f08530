#pragma once
/// \file
/// How a tensor's logical dims map to memory. Logical dims follow oneDNN's convention and never
/// change with the layout: activations are {N, C, H, W}, convolution weights {O, I, KH, KW}.

#include <cstdint>
#include <string_view>

namespace stemshare {

enum class layout : std::uint8_t {
    plain,  ///< row-major in the order of the logical dims (NCHW for activations, OIHW for weights)
    nhwc,   ///< channels last; only for rank-4 activations
};

[[nodiscard]] constexpr std::string_view to_string(layout l) noexcept {
    return l == layout::plain ? "plain" : "nhwc";
}

}  // namespace stemshare
