#pragma once
/// \file
/// MobileNetV1 1.0 (Howard et al. 2017, Table 1): a 3x3 stem and 13 depthwise-separable blocks,
/// batch-norm + ReLU after every convolution, global average pooling and a 1000-way classifier.
/// 569 M multiply-accumulates and 4.2 M parameters at 224 x 224.

#include <cstdint>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>

namespace stemshare::zoo {

namespace detail::mobilenet_v1 {
using namespace stemshare::layers;

/// Depthwise 3x3 (stride S) then pointwise to C channels, each with batch-norm and ReLU.
template <std::int64_t C, std::int64_t S>
inline constexpr auto separable =
    block(depthwise_conv2d<{.kernel = 3, .stride = S, .padding = 1, .bias = false}> | batch_norm | relu |
          conv2d<{.out_channels = C, .bias = false}> | batch_norm | relu);

inline constexpr auto layers =
    block(conv2d<{.out_channels = 32, .kernel = 3, .stride = 2, .padding = 1, .bias = false}> | batch_norm |
          relu) |
    separable<64, 1> | separable<128, 2> | separable<128, 1> | separable<256, 2> | separable<256, 1> |
    separable<512, 2> | separable<512, 1> | separable<512, 1> | separable<512, 1> | separable<512, 1> |
    separable<512, 1> | separable<1024, 2> | separable<1024, 1> | global_avg_pool |
    dense<{.out_features = 1000}>;
}  // namespace detail::mobilenet_v1

/// MobileNetV1 at any square input resolution (the published model is 224; a smaller one keeps the
/// layer structure and lets the naive reference backend check it in seconds).
template <std::int64_t Resolution>
inline constexpr auto mobilenet_v1_at = input<3, Resolution, Resolution> | detail::mobilenet_v1::layers;

/// MobileNetV1 1.0-224; branch points after the stem, after each block and after the pooling.
inline constexpr auto mobilenet_v1 = mobilenet_v1_at<224>;

}  // namespace stemshare::zoo
