#pragma once
/// \file
/// AlexNet as torchvision ships it (Krizhevsky 2014, "one weird trick" variant): five convolutions
/// with ReLU and three max-poolings, then three fully-connected layers. 714 M multiply-accumulates
/// and 61.1 M parameters at 224 x 224, 95% of them in the fully-connected layers: the large
/// layers whose loading Masa and DeepEye overlap with the convolutions. Dropout is an identity at
/// inference and is left out.

#include <cstdint>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>

namespace stemshare::zoo {

namespace detail::alexnet {
using namespace stemshare::layers;

inline constexpr auto pool = max_pool2d<{.kernel = 3, .stride = 2}>;

// One block per weighted layer, so every layer is a branch point and can be loaded on its own.
inline constexpr auto layers =
    block(conv2d<{.out_channels = 64, .kernel = 11, .stride = 4, .padding = 2}> | relu | pool) |
    block(conv2d<{.out_channels = 192, .kernel = 5, .padding = 2}> | relu | pool) |
    block(conv2d<{.out_channels = 384, .kernel = 3, .padding = 1}> | relu) |
    block(conv2d<{.out_channels = 256, .kernel = 3, .padding = 1}> | relu) |
    block(conv2d<{.out_channels = 256, .kernel = 3, .padding = 1}> | relu | pool) |
    block(dense<{.out_features = 4096}> | relu) | block(dense<{.out_features = 4096}> | relu) |
    dense<{.out_features = 1000}>;
}  // namespace detail::alexnet

/// AlexNet at any square input resolution of at least 63 (the published model is 224).
template <std::int64_t Resolution>
inline constexpr auto alexnet_at = input<3, Resolution, Resolution> | detail::alexnet::layers;

/// AlexNet-224; a branch point after every weighted layer.
inline constexpr auto alexnet = alexnet_at<224>;

}  // namespace stemshare::zoo
