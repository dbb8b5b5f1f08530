#pragma once
/// \file
/// The layer constants compile-time chains are written with:
/// `input<1, 28, 28> | conv2d<{.out_channels = 16, .kernel = 3, .padding = 1}> | batch_norm | relu6 | ...`

#include <cstdint>

#include <stemshare/chain/element.hpp>
#include <stemshare/layers/activation.hpp>
#include <stemshare/layers/batch_norm.hpp>
#include <stemshare/layers/channel_shuffle.hpp>
#include <stemshare/layers/channel_slice.hpp>
#include <stemshare/layers/conv2d.hpp>
#include <stemshare/layers/dense.hpp>
#include <stemshare/layers/depthwise_conv2d.hpp>
#include <stemshare/layers/flatten.hpp>
#include <stemshare/layers/gate_activation.hpp>
#include <stemshare/layers/pool2d.hpp>

namespace stemshare::layers {

namespace detail {
constexpr pool2d_spec with_kind(pool2d_spec s, pool_kind k) {
    s.kind = k;
    return s;
}
}  // namespace detail

/// Any unary spec as a layer, e.g. `layer<batch_norm_spec{.epsilon = 1e-3F}>`.
template <auto Spec>
inline constexpr static_layer<Spec> layer{};

template <conv2d_spec S>
inline constexpr static_layer<S> conv2d{};
template <depthwise_conv2d_spec S = depthwise_conv2d_spec{}>
inline constexpr static_layer<S> depthwise_conv2d{};
template <dense_spec S>
inline constexpr static_layer<S> dense{};
template <pool2d_spec S = pool2d_spec{}>
inline constexpr static_layer<detail::with_kind(S, pool_kind::max)> max_pool2d{};
template <pool2d_spec S = pool2d_spec{}>
inline constexpr static_layer<detail::with_kind(S, pool_kind::avg)> avg_pool2d{};

inline constexpr static_layer<global_avg_pool_spec{}> global_avg_pool{};
inline constexpr static_layer<batch_norm_spec{}> batch_norm{};
inline constexpr static_layer<activation_spec{activation_kind::relu}> relu{};
inline constexpr static_layer<activation_spec{activation_kind::relu6}> relu6{};
inline constexpr static_layer<activation_spec{activation_kind::sigmoid}> sigmoid{};
/// PyTorch's nn.Hardsigmoid: relu6(x + 3) / 6.
inline constexpr static_layer<gate_activation_spec{gate_kind::hard_sigmoid}> hard_sigmoid{};
inline constexpr static_layer<gate_activation_spec{gate_kind::hard_swish}> hard_swish{};
/// SiLU, also called swish: x * sigmoid(x).
inline constexpr static_layer<gate_activation_spec{gate_kind::silu}> silu{};
/// ShuffleNet's channel shuffle over `Groups` groups.
template <std::int64_t Groups>
inline constexpr static_layer<channel_shuffle_spec{Groups}> channel_shuffle{};
/// Channels [begin, begin + count) of the input: one part of a channel split, e.g. the two halves
/// of ShuffleNetV2's `x.chunk(2, dim=1)` as the first layers of two `inception` branches.
template <channel_slice_spec S>
inline constexpr static_layer<S> channel_slice{};
inline constexpr static_layer<flatten_spec{}> flatten{};
inline constexpr static_layer<softmax_spec{}> softmax{};

}  // namespace stemshare::layers
