#pragma once
/// \file
/// `fashion_mobilenet` twice as wide (a 32-channel 3x3 stem, six depthwise-separable blocks of 64,
/// 128 and 256 channels, ReLU6), global pooling and a 10-way classifier: about 144 K parameters and
/// 4.5 M multiply-accumulates, 3.6x the small net. Ekya's experiment uses it as the larger "golden"
/// model that labels the cameras' frames (experiment/ekya_models.hpp).

#include <cstdint>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>

namespace stemshare::zoo {

namespace detail::fashion_mobilenet_wide {
using namespace stemshare::layers;
using detail::fashion_mobilenet::separable;

inline constexpr auto layers = block(conv2d<{.out_channels = 32, .kernel = 3, .padding = 1, .bias = false}> |
                                     batch_norm | relu6) |  // 28x28
                               separable<64, 2> |
                               separable<64, 1> |                       // 14x14
                               separable<128, 2> | separable<128, 1> |  // 7x7
                               separable<256, 2> | separable<256, 1> |  // 4x4
                               global_avg_pool | dense<{.out_features = 10}>;
}  // namespace detail::fashion_mobilenet_wide

/// The 28 x 28 x 1 wide net; branch points after the stem, after each block and after the pooling.
inline constexpr auto fashion_mobilenet_wide = input<1, 28, 28> | detail::fashion_mobilenet_wide::layers;

}  // namespace stemshare::zoo
