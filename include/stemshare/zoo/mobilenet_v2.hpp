#pragma once
/// \file
/// MobileNetV2 1.0 (Sandler et al. 2018, Table 2; torchvision's layout): a 3x3 stem, 17 inverted
/// residual blocks (1x1 expansion, 3x3 depthwise, linear 1x1 projection; identity shortcut where
/// stride is 1 and channels match), a 1x1 conv to 1280, global pooling and a 1000-way classifier.
/// 300 M multiply-accumulates and 3.5 M parameters at 224 x 224.

#include <cstdint>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>

namespace stemshare::zoo {

namespace detail::mobilenet_v2 {
using namespace stemshare::layers;

template <std::int64_t C, std::int64_t S = 1>
inline constexpr auto conv_bn_relu6 =
    conv2d<{.out_channels = C, .kernel = 3, .stride = S, .padding = 1, .bias = false}> | batch_norm | relu6;

/// Depthwise + linear projection: the whole block when the expansion factor is 1.
template <std::int64_t C, std::int64_t S>
inline constexpr auto depthwise_project =
    depthwise_conv2d<{.kernel = 3, .stride = S, .padding = 1, .bias = false}> | batch_norm | relu6 |
    conv2d<{.out_channels = C, .bias = false}> | batch_norm;

/// Expansion to In * T channels, then depthwise + projection to C.
template <std::int64_t In, std::int64_t T, std::int64_t C, std::int64_t S>
inline constexpr auto expand_project =
    conv2d<{.out_channels = In * T, .bias = false}> | batch_norm | relu6 | depthwise_project<C, S>;

/// An inverted residual block reading In channels: a residual only where shapes allow one.
template <std::int64_t In, std::int64_t T, std::int64_t C, std::int64_t S>
constexpr auto inverted_residual() {
    if constexpr (T == 1)
        return block(depthwise_project<C, S>);
    else if constexpr (S == 1 && In == C)
        return residual(expand_project<In, T, C, S>);
    else
        return block(expand_project<In, T, C, S>);
}

// The (t, c, n, s) table of the paper, unrolled: one block per repeat, stride on the first.
inline constexpr auto layers = block(conv_bn_relu6<32, 2>) | inverted_residual<32, 1, 16, 1>() |        //
                               inverted_residual<16, 6, 24, 2>() | inverted_residual<24, 6, 24, 1>() |  //
                               inverted_residual<24, 6, 32, 2>() | inverted_residual<32, 6, 32, 1>() |
                               inverted_residual<32, 6, 32, 1>() |  //
                               inverted_residual<32, 6, 64, 2>() | inverted_residual<64, 6, 64, 1>() |
                               inverted_residual<64, 6, 64, 1>() | inverted_residual<64, 6, 64, 1>() |  //
                               inverted_residual<64, 6, 96, 1>() | inverted_residual<96, 6, 96, 1>() |
                               inverted_residual<96, 6, 96, 1>() |  //
                               inverted_residual<96, 6, 160, 2>() | inverted_residual<160, 6, 160, 1>() |
                               inverted_residual<160, 6, 160, 1>() |  //
                               inverted_residual<160, 6, 320, 1>() |  //
                               block(conv2d<{.out_channels = 1280, .bias = false}> | batch_norm | relu6) |
                               global_avg_pool | dense<{.out_features = 1000}>;
}  // namespace detail::mobilenet_v2

/// MobileNetV2 at any square input resolution (published: 224).
template <std::int64_t Resolution>
inline constexpr auto mobilenet_v2_at = input<3, Resolution, Resolution> | detail::mobilenet_v2::layers;

/// MobileNetV2 1.0-224; branch points after the stem, after each inverted residual block, after
/// the last 1x1 conv block and after the pooling.
inline constexpr auto mobilenet_v2 = mobilenet_v2_at<224>;

}  // namespace stemshare::zoo
