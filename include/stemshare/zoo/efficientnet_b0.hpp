#pragma once
/// \file
/// EfficientNet-B0 (Tan and Le 2019, Table 1; torchvision's layout): a 3x3 SiLU stem, 16 MBConv
/// blocks in 7 stages (1x1 expansion by 6 except in the first stage, kxk depthwise, squeeze-and-
/// excitation to a quarter of the block's input channels with a SiLU squeeze and a sigmoid gate,
/// linear 1x1 projection; identity shortcut where stride is 1 and channels match), a 1x1 conv to
/// 1280, global pooling and a 1000-way classifier. Batch-norm epsilon 1e-5; every activation
/// outside the gates is SiLU. Stochastic depth and dropout are identities at inference.
/// 386 M multiply-accumulates and 5.3 M parameters at 224 x 224 (torchvision's published 0.386
/// GFLOPS; tools/zoo/torchvision_macs.py counts them).

#include <algorithm>
#include <cstdint>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>

namespace stemshare::zoo {

namespace detail::efficientnet_b0 {
using namespace stemshare::layers;

/// Depthwise kxk + SiLU, then squeeze-and-excitation (squeezed to In / 4, from the block's input
/// channels as torchvision has it, not from the expanded ones), then the linear projection.
template <std::int64_t In, std::int64_t K, std::int64_t S, std::int64_t Out>
inline constexpr auto depthwise_project =
    depthwise_conv2d<{.kernel = K, .stride = S, .padding = (K - 1) / 2, .bias = false}> | batch_norm | silu |
    squeeze_excitation<std::max<std::int64_t>(1, In / 4)>(silu, sigmoid) |
    conv2d<{.out_channels = Out, .bias = false}> | batch_norm;

template <std::int64_t In, std::int64_t T, std::int64_t K, std::int64_t S, std::int64_t Out>
constexpr auto mbconv_body() {
    if constexpr (T == 1)
        return depthwise_project<In, K, S, Out>;
    else
        return conv2d<{.out_channels = In * T, .bias = false}> | batch_norm | silu |
               depthwise_project<In, K, S, Out>;
}

/// One MBConv block reading In channels (expansion T, kernel K, stride S): a residual where shapes
/// allow one, else a plain block.
template <std::int64_t In, std::int64_t T, std::int64_t K, std::int64_t S, std::int64_t Out>
constexpr auto mbconv() {
    static_assert(In * T % 8 == 0, "EfficientNet-B0's expanded widths are multiples of 8 (no rounding here)");
    if constexpr (S == 1 && In == Out)
        return residual(mbconv_body<In, T, K, S, Out>());
    else
        return block(mbconv_body<In, T, K, S, Out>());
}

// Table 1 of the paper, one MBConv per repeat, stride on the first of each stage.
inline constexpr auto layers =
    block(conv2d<{.out_channels = 32, .kernel = 3, .stride = 2, .padding = 1, .bias = false}> | batch_norm |
          silu) |
    mbconv<32, 1, 3, 1, 16>() |                                                                //
    mbconv<16, 6, 3, 2, 24>() | mbconv<24, 6, 3, 1, 24>() |                                    //
    mbconv<24, 6, 5, 2, 40>() | mbconv<40, 6, 5, 1, 40>() |                                    //
    mbconv<40, 6, 3, 2, 80>() | mbconv<80, 6, 3, 1, 80>() | mbconv<80, 6, 3, 1, 80>() |        //
    mbconv<80, 6, 5, 1, 112>() | mbconv<112, 6, 5, 1, 112>() | mbconv<112, 6, 5, 1, 112>() |   //
    mbconv<112, 6, 5, 2, 192>() | mbconv<192, 6, 5, 1, 192>() | mbconv<192, 6, 5, 1, 192>() |  //
    mbconv<192, 6, 5, 1, 192>() |                                                              //
    mbconv<192, 6, 3, 1, 320>() |                                                              //
    block(conv2d<{.out_channels = 1280, .bias = false}> | batch_norm | silu) | global_avg_pool |
    dense<{.out_features = 1000}>;
}  // namespace detail::efficientnet_b0

/// EfficientNet-B0 at any square input resolution of at least 32 (published: 224).
template <std::int64_t Resolution>
inline constexpr auto efficientnet_b0_at = input<3, Resolution, Resolution> | detail::efficientnet_b0::layers;

/// EfficientNet-B0 at 224; branch points after the stem, after each MBConv block (its
/// squeeze-and-excitation inside), after the last 1x1 conv block and after the pooling.
inline constexpr auto efficientnet_b0 = efficientnet_b0_at<224>;

}  // namespace stemshare::zoo
