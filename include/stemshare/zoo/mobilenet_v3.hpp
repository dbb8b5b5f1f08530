#pragma once
/// \file
/// MobileNetV3-Large and -Small 1.0 (Howard et al. 2019, Tables 1 and 2; torchvision's layout): a
/// 3x3 hard-swish stem, inverted residual "bneck" blocks (1x1 expansion unless the expansion
/// equals the input, kxk depthwise, optional squeeze-and-excitation with a ReLU squeeze and a
/// hard-sigmoid gate, linear 1x1 projection; identity shortcut where stride is 1 and channels
/// match), a 1x1 conv to 6x the last block's channels, global pooling, a hidden dense layer with
/// hard-swish and a 1000-way classifier. Batch-norm epsilon 1e-3 everywhere.
/// At 224 x 224: Large 217 M multiply-accumulates and 5.5 M parameters, Small 57 M and 2.5 M
/// (torchvision's published 0.217 / 0.057 GFLOPS; tools/zoo/torchvision_macs.py counts them).

#include <algorithm>
#include <cstdint>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>

namespace stemshare::zoo {

namespace detail::mobilenet_v3 {
using namespace stemshare::layers;

inline constexpr auto bn = layer<batch_norm_spec{.epsilon = 1e-3F}>;

/// torchvision's _make_divisible(v, 8): the nearest multiple of 8, at least 8, never below 90% of v.
constexpr std::int64_t make_divisible(std::int64_t v) {
    std::int64_t rounded = std::max<std::int64_t>(8, (v + 4) / 8 * 8);
    if (10 * rounded < 9 * v) rounded += 8;
    return rounded;
}

/// The block's nonlinearity: hard-swish ("HS" in the paper's tables) or ReLU ("RE").
template <bool HardSwish>
constexpr auto nonlinearity() {
    if constexpr (HardSwish)
        return hard_swish;
    else
        return relu;
}

/// Depthwise kxk with its activation, then the squeeze-and-excitation gate where the table has one.
template <std::int64_t K, std::int64_t Expanded, bool SE, bool HardSwish, std::int64_t S>
constexpr auto depthwise_part() {
    constexpr auto dw = depthwise_conv2d<{.kernel = K, .stride = S, .padding = (K - 1) / 2, .bias = false}> |
                        bn | nonlinearity<HardSwish>();
    if constexpr (SE)
        return dw | squeeze_excitation<make_divisible(Expanded / 4)>(relu, hard_sigmoid);
    else
        return dw;
}

template <std::int64_t In, std::int64_t K, std::int64_t Expanded, std::int64_t Out, bool SE, bool HardSwish,
          std::int64_t S>
constexpr auto bneck_body() {
    constexpr auto project = conv2d<{.out_channels = Out, .bias = false}> | bn;
    if constexpr (Expanded == In)
        return depthwise_part<K, Expanded, SE, HardSwish, S>() | project;
    else
        return conv2d<{.out_channels = Expanded, .bias = false}> | bn | nonlinearity<HardSwish>() |
               depthwise_part<K, Expanded, SE, HardSwish, S>() | project;
}

/// One row of the paper's table (input channels, kernel, expanded channels, output channels, SE,
/// HS, stride) as one chain element: a residual where shapes allow one, else a plain block.
template <std::int64_t In, std::int64_t K, std::int64_t Expanded, std::int64_t Out, bool SE, bool HardSwish,
          std::int64_t S>
constexpr auto bneck() {
    if constexpr (S == 1 && In == Out)
        return residual(bneck_body<In, K, Expanded, Out, SE, HardSwish, S>());
    else
        return block(bneck_body<In, K, Expanded, Out, SE, HardSwish, S>());
}

inline constexpr bool RE = false;
inline constexpr bool HS = true;

inline constexpr auto stem = block(
    conv2d<{.out_channels = 16, .kernel = 3, .stride = 2, .padding = 1, .bias = false}> | bn | hard_swish);

/// The last 1x1 conv (to 6x its input), pooling, the hidden dense layer and the classifier.
template <std::int64_t LastConv, std::int64_t Hidden>
inline constexpr auto head =
    block(conv2d<{.out_channels = LastConv, .bias = false}> | bn | hard_swish) | global_avg_pool |
    block(dense<{.out_features = Hidden}> | hard_swish) | dense<{.out_features = 1000}>;

// Table 1 of the paper, one bneck per row.
inline constexpr auto large_layers =
    stem |                                                                         //
    bneck<16, 3, 16, 16, false, RE, 1>() | bneck<16, 3, 64, 24, false, RE, 2>() |  //
    bneck<24, 3, 72, 24, false, RE, 1>() | bneck<24, 5, 72, 40, true, RE, 2>() |   //
    bneck<40, 5, 120, 40, true, RE, 1>() | bneck<40, 5, 120, 40, true, RE, 1>() |
    bneck<40, 3, 240, 80, false, HS, 2>() | bneck<80, 3, 200, 80, false, HS, 1>() |
    bneck<80, 3, 184, 80, false, HS, 1>() | bneck<80, 3, 184, 80, false, HS, 1>() |
    bneck<80, 3, 480, 112, true, HS, 1>() | bneck<112, 3, 672, 112, true, HS, 1>() |
    bneck<112, 5, 672, 160, true, HS, 2>() | bneck<160, 5, 960, 160, true, HS, 1>() |
    bneck<160, 5, 960, 160, true, HS, 1>() |  //
    head<960, 1280>;

// Table 2 of the paper.
inline constexpr auto small_layers =
    stem |                                                                        //
    bneck<16, 3, 16, 16, true, RE, 2>() | bneck<16, 3, 72, 24, false, RE, 2>() |  //
    bneck<24, 3, 88, 24, false, RE, 1>() | bneck<24, 5, 96, 40, true, HS, 2>() |  //
    bneck<40, 5, 240, 40, true, HS, 1>() | bneck<40, 5, 240, 40, true, HS, 1>() |
    bneck<40, 5, 120, 48, true, HS, 1>() | bneck<48, 5, 144, 48, true, HS, 1>() |
    bneck<48, 5, 288, 96, true, HS, 2>() | bneck<96, 5, 576, 96, true, HS, 1>() |
    bneck<96, 5, 576, 96, true, HS, 1>() |  //
    head<576, 1024>;
}  // namespace detail::mobilenet_v3

/// MobileNetV3-Large at any square input resolution of at least 32 (published: 224).
template <std::int64_t Resolution>
inline constexpr auto mobilenet_v3_large_at =
    input<3, Resolution, Resolution> | detail::mobilenet_v3::large_layers;

/// MobileNetV3-Small at any square input resolution of at least 32 (published: 224).
template <std::int64_t Resolution>
inline constexpr auto mobilenet_v3_small_at =
    input<3, Resolution, Resolution> | detail::mobilenet_v3::small_layers;

/// MobileNetV3-Large 1.0-224; branch points after the stem, after each bneck block (its
/// squeeze-and-excitation inside), after the last 1x1 conv block, the pooling and the hidden layer.
inline constexpr auto mobilenet_v3_large = mobilenet_v3_large_at<224>;

/// MobileNetV3-Small 1.0-224; branch points as for the Large model.
inline constexpr auto mobilenet_v3_small = mobilenet_v3_small_at<224>;

}  // namespace stemshare::zoo
