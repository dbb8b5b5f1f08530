#pragma once
/// \file
/// ResNet-50 (He et al. 2016; torchvision's v1.5, stride in the 3x3 conv): a 7x7 stem with max
/// pooling, 16 bottleneck blocks in four stages (3, 4, 6, 3), global pooling and a 1000-way
/// classifier. 4.1 G multiply-accumulates and 25.6 M parameters at 224 x 224.

#include <cstdint>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>

namespace stemshare::zoo {

namespace detail::resnet50 {
using namespace stemshare::layers;

template <std::int64_t C, std::int64_t K = 1, std::int64_t S = 1>
inline constexpr auto conv_bn =
    conv2d<{.out_channels = C, .kernel = K, .stride = S, .padding = K / 2, .bias = false}> | batch_norm;

/// 1x1 reduce to W, 3x3 (stride S), 1x1 expand to 4W; relu after the sum.
template <std::int64_t W, std::int64_t S>
inline constexpr auto body = conv_bn<W> | relu | conv_bn<W, 3, S> | relu | conv_bn<4 * W>;

/// The first block of a stage projects the shortcut (1x1, stride S) to 4W channels.
template <std::int64_t W, std::int64_t S>
inline constexpr auto projection_block = block(residual(body<W, S>, conv_bn<4 * W, 1, S>) | relu);
template <std::int64_t W>
inline constexpr auto identity_block = block(residual(body<W, 1>) | relu);

inline constexpr auto layers =
    block(conv_bn<64, 7, 2> | relu | max_pool2d<{.kernel = 3, .stride = 2, .padding = 1}>) |      //
    projection_block<64, 1> | identity_block<64> | identity_block<64> |                           //
    projection_block<128, 2> | identity_block<128> | identity_block<128> | identity_block<128> |  //
    projection_block<256, 2> | identity_block<256> | identity_block<256> | identity_block<256> |  //
    identity_block<256> | identity_block<256> |                                                   //
    projection_block<512, 2> | identity_block<512> | identity_block<512> |                        //
    global_avg_pool | dense<{.out_features = 1000}>;
}  // namespace detail::resnet50

/// ResNet-50 at any square input resolution (published: 224).
template <std::int64_t Resolution>
inline constexpr auto resnet50_at = input<3, Resolution, Resolution> | detail::resnet50::layers;

/// ResNet-50 at 224; branch points after the stem, after each bottleneck block and after pooling.
inline constexpr auto resnet50 = resnet50_at<224>;

}  // namespace stemshare::zoo
