#pragma once
/// \file
/// A small MobileNet-style classifier for 28 x 28 grey images (Fashion-MNIST): a 3x3 stem and six
/// depthwise-separable blocks (ReLU6), global pooling and a 10-way classifier. About 40 K
/// parameters and 1.3 M multiply-accumulates, so fine-tuning any suffix on a CPU takes seconds.

#include <cstdint>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>

namespace stemshare::zoo {

namespace detail::fashion_mobilenet {
using namespace stemshare::layers;

template <std::int64_t C, std::int64_t S>
inline constexpr auto separable =
    block(depthwise_conv2d<{.kernel = 3, .stride = S, .padding = 1, .bias = false}> | batch_norm | relu6 |
          conv2d<{.out_channels = C, .bias = false}> | batch_norm | relu6);

inline constexpr auto layers = block(conv2d<{.out_channels = 16, .kernel = 3, .padding = 1, .bias = false}> |
                                     batch_norm | relu6) |  // 28x28
                               separable<32, 2> |
                               separable<32, 1> |                       // 14x14
                               separable<64, 2> | separable<64, 1> |    // 7x7
                               separable<128, 2> | separable<128, 1> |  // 4x4
                               global_avg_pool | dense<{.out_features = 10}>;
}  // namespace detail::fashion_mobilenet

/// The 28 x 28 x 1 net; branch points after the stem, after each block and after the pooling.
inline constexpr auto fashion_mobilenet = input<1, 28, 28> | detail::fashion_mobilenet::layers;

}  // namespace stemshare::zoo
