#pragma once
/// \file
/// VGG-16 (Simonyan and Zisserman 2015, configuration D): thirteen 3x3 convolutions with ReLU in
/// five stages closed by 2x2 max-pooling, then three fully-connected layers. 15.5 G
/// multiply-accumulates and 138.4 M parameters at 224 x 224; the first fully-connected layer alone
/// holds 103 M of them (411 MB in f32). Dropout is an identity at inference and is left out.

#include <cstdint>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>

namespace stemshare::zoo {

namespace detail::vgg16 {
using namespace stemshare::layers;

template <std::int64_t C>
inline constexpr auto conv = block(conv2d<{.out_channels = C, .kernel = 3, .padding = 1}> | relu);
template <std::int64_t C>
inline constexpr auto conv_pool = block(conv2d<{.out_channels = C, .kernel = 3, .padding = 1}> | relu |
                                        max_pool2d<{.kernel = 2, .stride = 2}>);

// One block per weighted layer, so every layer is a branch point and can be loaded on its own.
inline constexpr auto layers = conv<64> | conv_pool<64> |                     // 224 -> 112
                               conv<128> | conv_pool<128> |                   // -> 56
                               conv<256> | conv<256> | conv_pool<256> |       // -> 28
                               conv<512> | conv<512> | conv_pool<512> |       // -> 14
                               conv<512> | conv<512> | conv_pool<512> |       // -> 7
                               block(dense<{.out_features = 4096}> | relu) |  //
                               block(dense<{.out_features = 4096}> | relu) | dense<{.out_features = 1000}>;
}  // namespace detail::vgg16

/// VGG-16 at any square input resolution divisible by 32 (the published model is 224).
template <std::int64_t Resolution>
inline constexpr auto vgg16_at = input<3, Resolution, Resolution> | detail::vgg16::layers;

/// VGG-16-224; a branch point after every weighted layer.
inline constexpr auto vgg16 = vgg16_at<224>;

}  // namespace stemshare::zoo
