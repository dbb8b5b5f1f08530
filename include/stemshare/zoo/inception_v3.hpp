#pragma once
/// \file
/// InceptionV3 (Szegedy et al. 2016; torchvision's layout, no auxiliary head): a 5-conv stem with
/// two max poolings, Mixed_5b..5d (A), 6a (B, grid reduction), 6b..6e (C, factorised 7x7),
/// 7a (D, grid reduction), 7b..7c (E, expanded 3x3), global pooling and a 1000-way classifier.
/// Every conv is conv + batch-norm (eps 1e-3) + ReLU. 5.7 G multiply-accumulates and 23.8 M
/// parameters at 299 x 299.

#include <cstdint>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>

namespace stemshare::zoo {

namespace detail::inception_v3 {
using namespace stemshare::layers;

/// torchvision's BasicConv2d: bias-free conv, batch-norm with eps 1e-3, ReLU.
template <std::int64_t C, extent2 K = 1, extent2 S = 1, padding4 P = 0>
inline constexpr auto conv =
    conv2d<{.out_channels = C, .kernel = K, .stride = S, .padding = P, .bias = false}> |
    layer<batch_norm_spec{.epsilon = 1e-3F}> | relu;

template <std::int64_t C>
inline constexpr auto conv3x3 = conv<C, 3, 1, 1>;
template <std::int64_t C>
inline constexpr auto conv1x7 = conv<C, extent2{1, 7}, 1, padding4{0, 3}>;
template <std::int64_t C>
inline constexpr auto conv7x1 = conv<C, extent2{7, 1}, 1, padding4{3, 0}>;

/// F.avg_pool2d(x, 3, stride=1, padding=1): PyTorch counts the padding in the divisor.
inline constexpr auto avg_pool3x3 =
    avg_pool2d<{.kernel = 3, .stride = 1, .padding = 1, .count_include_pad = true}>;
inline constexpr auto max_pool3x3_s2 = max_pool2d<{.kernel = 3, .stride = 2}>;

template <std::int64_t PoolFeatures>
inline constexpr auto inception_a = inception(conv<64>,                              //
                                              conv<48> | conv<64, 5, 1, 2>,          //
                                              conv<64> | conv3x3<96> | conv3x3<96>,  //
                                              avg_pool3x3 | conv<PoolFeatures>);

inline constexpr auto inception_b = inception(conv<384, 3, 2>,                          //
                                              conv<64> | conv3x3<96> | conv<96, 3, 2>,  //
                                              max_pool3x3_s2);

template <std::int64_t C7>
inline constexpr auto inception_c = inception(conv<192>,                              //
                                              conv<C7> | conv1x7<C7> | conv7x1<192>,  //
                                              conv<C7> | conv7x1<C7> | conv1x7<C7> | conv7x1<C7> |
                                                  conv1x7<192>,  //
                                              avg_pool3x3 | conv<192>);

inline constexpr auto inception_d = inception(conv<192> | conv<320, 3, 2>,                                //
                                              conv<192> | conv1x7<192> | conv7x1<192> | conv<192, 3, 2>,  //
                                              max_pool3x3_s2);

/// The 1x3 and 3x1 convolutions both read the same input and are concatenated.
inline constexpr auto split_3x3 =
    inception(conv<384, extent2{1, 3}, 1, padding4{0, 1}>, conv<384, extent2{3, 1}, 1, padding4{1, 0}>);

inline constexpr auto inception_e = inception(conv<320>,                             //
                                              conv<384> | split_3x3,                 //
                                              conv<448> | conv3x3<384> | split_3x3,  //
                                              avg_pool3x3 | conv<192>);

inline constexpr auto layers = block(conv<32, 3, 2> | conv<32, 3> | conv3x3<64> | max_pool3x3_s2) |         //
                               block(conv<80> | conv<192, 3> | max_pool3x3_s2) |                            //
                               inception_a<32> | inception_a<64> | inception_a<64> |                        //
                               inception_b |                                                                //
                               inception_c<128> | inception_c<160> | inception_c<160> | inception_c<192> |  //
                               inception_d |                                                                //
                               inception_e | inception_e |                                                  //
                               global_avg_pool | dense<{.out_features = 1000}>;
}  // namespace detail::inception_v3

/// InceptionV3 at any square input resolution of at least 75 (published: 299).
template <std::int64_t Resolution>
inline constexpr auto inception_v3_at = input<3, Resolution, Resolution> | detail::inception_v3::layers;

/// InceptionV3 at 299 without the auxiliary classifier; branch points after the two stem blocks,
/// after each Mixed block and after the pooling.
inline constexpr auto inception_v3 = inception_v3_at<299>;

}  // namespace stemshare::zoo
