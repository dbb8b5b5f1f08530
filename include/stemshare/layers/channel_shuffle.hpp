#pragma once
/// \file
/// `channel_shuffle_spec`: ShuffleNet's channel shuffle. The channels are seen as a `groups` x
/// (C / groups) matrix and transposed, so output channel `j * groups + i` is input channel
/// `i * (C / groups) + j`: what PyTorch's `nn.ChannelShuffle(groups)` and torchvision's
/// `channel_shuffle(x, groups)` (view, transpose(1, 2), view) compute.

#include <cstdint>
#include <string_view>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/param.hpp>

namespace stemshare {

struct channel_shuffle_spec {
    static constexpr std::string_view kind_name = "channel_shuffle";

    std::int64_t groups = 2;

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (in.empty()) return "channel_shuffle: input has a zero extent";
        if (groups < 1) return "channel_shuffle: groups must be positive";
        if (in.c % groups != 0) return "channel_shuffle: input channels are not divisible by groups";
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept { return in; }
    [[nodiscard]] constexpr param_list params(shape) const { return {}; }
    [[nodiscard]] constexpr std::int64_t flops(shape) const noexcept { return 0; }
    /// Input channel that output channel `out` of a `channels`-channel tensor comes from.
    [[nodiscard]] constexpr std::int64_t source_channel(std::int64_t out,
                                                        std::int64_t channels) const noexcept {
        return (out % groups) * (channels / groups) + out / groups;
    }
    friend constexpr bool operator==(const channel_shuffle_spec&, const channel_shuffle_spec&) = default;
};

}  // namespace stemshare
