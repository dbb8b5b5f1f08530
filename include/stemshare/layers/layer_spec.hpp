#pragma once
/// \file
/// `layer_spec`: the closed set of layer kinds a run-time graph holds, and the generic operations
/// on it (check, output shape, parameters, FLOPs, a canonical text of the hyper-parameters).

#include <array>
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/activation.hpp>
#include <stemshare/layers/batch_norm.hpp>
#include <stemshare/layers/channel_shuffle.hpp>
#include <stemshare/layers/channel_slice.hpp>
#include <stemshare/layers/conv2d.hpp>
#include <stemshare/layers/dense.hpp>
#include <stemshare/layers/flatten.hpp>
#include <stemshare/layers/gate_activation.hpp>
#include <stemshare/layers/merge.hpp>
#include <stemshare/layers/multiply.hpp>
#include <stemshare/layers/param.hpp>
#include <stemshare/layers/pool2d.hpp>

namespace stemshare {

/// Depthwise convolutions appear here as `conv2d_spec` with groups == in_channels.
using layer_spec =
    std::variant<conv2d_spec, dense_spec, pool2d_spec, global_avg_pool_spec, batch_norm_spec, activation_spec,
                 flatten_spec, softmax_spec, add_spec, concat_spec, gate_activation_spec, multiply_spec,
                 channel_shuffle_spec, channel_slice_spec>;

/// Layers that take exactly one input and may carry parameters.
template <class S>
concept UnaryLayerSpec = requires(const S& s, shape in) {
    { s.check(in) } -> std::same_as<diagnostic>;
    { s.output_shape(in) } -> std::same_as<shape>;
    { s.params(in) } -> std::same_as<param_list>;
    { s.flops(in) } -> std::convertible_to<std::int64_t>;
};

/// Layers that merge several inputs.
template <class S>
concept MergeLayerSpec = requires(const S& s, std::span<const shape> in) {
    { s.check(in) } -> std::same_as<diagnostic>;
    { s.output_shape(in) } -> std::same_as<shape>;
};

[[nodiscard]] inline std::string_view kind_name(const layer_spec& spec) {
    return std::visit([](const auto& s) { return std::decay_t<decltype(s)>::kind_name; }, spec);
}

[[nodiscard]] constexpr diagnostic check(const layer_spec& spec, std::span<const shape> in) {
    return std::visit(
        [&](const auto& s) -> diagnostic {
            if constexpr (UnaryLayerSpec<std::decay_t<decltype(s)>>) {
                if (in.size() != 1) return "layer takes exactly one input";
                return s.check(in[0]);
            } else {
                return s.check(in);
            }
        },
        spec);
}

/// Precondition: `check(spec, in).ok()`.
[[nodiscard]] constexpr shape output_shape(const layer_spec& spec, std::span<const shape> in) {
    return std::visit(
        [&](const auto& s) -> shape {
            if constexpr (UnaryLayerSpec<std::decay_t<decltype(s)>>)
                return s.output_shape(in[0]);
            else
                return s.output_shape(in);
        },
        spec);
}

[[nodiscard]] constexpr param_list params(const layer_spec& spec, std::span<const shape> in) {
    return std::visit(
        [&](const auto& s) -> param_list {
            if constexpr (UnaryLayerSpec<std::decay_t<decltype(s)>>)
                return s.params(in[0]);
            else
                return {};
        },
        spec);
}

[[nodiscard]] constexpr std::int64_t flops(const layer_spec& spec, std::span<const shape> in) {
    return std::visit(
        [&](const auto& s) -> std::int64_t {
            if constexpr (UnaryLayerSpec<std::decay_t<decltype(s)>>)
                return s.flops(in[0]);
            else
                return s.flops(in);
        },
        spec);
}

namespace detail {
/// Dilation is written only where it is not 1, so an undilated conv keeps the text (and the stem
/// fingerprints and primitive cache keys) it had before dilation existed.
inline std::string describe_spec(const conv2d_spec& s) {
    return "conv2d(out=" + std::to_string(s.out_channels) + ",k=" + to_string(s.kernel) +
           ",s=" + to_string(s.stride) + ",p=" + to_string(s.padding) +
           (s.dilation == extent2{1} ? std::string() : ",d=" + to_string(s.dilation)) +
           ",g=" + std::to_string(s.groups) + ",bias=" + (s.bias ? "1" : "0") + ")";
}
inline std::string describe_spec(const dense_spec& s) {
    return "dense(out=" + std::to_string(s.out_features) + ",bias=" + (s.bias ? "1" : "0") + ")";
}
/// Dilation is written only where it is not 1, as for conv2d.
inline std::string describe_spec(const pool2d_spec& s) {
    return std::string(s.kind == pool_kind::max ? "max_pool2d" : "avg_pool2d") + "(k=" + to_string(s.kernel) +
           ",s=" + to_string(s.stride) + ",p=" + to_string(s.padding) +
           (s.kind == pool_kind::avg ? std::string(",include_pad=") + (s.count_include_pad ? "1" : "0")
                                     : "") +
           (s.dilation == extent2{1} ? std::string() : ",d=" + to_string(s.dilation)) + ")";
}
/// Epsilon in its shortest exact form: std::to_string's 6 decimals printed 1e-7 and 1e-9 alike,
/// and this text keys oneDNN's primitive cache.
inline std::string describe_spec(const batch_norm_spec& s) {
    std::array<char, 32> text{};
    const auto end = std::to_chars(text.data(), text.data() + text.size(), s.epsilon).ptr;
    return "batch_norm(eps=" + std::string(text.data(), end) + ")";
}
inline std::string describe_spec(const activation_spec& s) {
    return std::string(to_string(s.kind));
}
inline std::string describe_spec(const gate_activation_spec& s) {
    if (s.kind != gate_kind::hard_sigmoid) return std::string(to_string(s.kind));
    std::array<char, 32> a{};
    std::array<char, 32> b{};
    const auto a_end = std::to_chars(a.data(), a.data() + a.size(), s.alpha).ptr;
    const auto b_end = std::to_chars(b.data(), b.data() + b.size(), s.beta).ptr;
    return "hard_sigmoid(alpha=" + std::string(a.data(), a_end) + ",beta=" + std::string(b.data(), b_end) +
           ")";
}
inline std::string describe_spec(const channel_shuffle_spec& s) {
    return "channel_shuffle(g=" + std::to_string(s.groups) + ")";
}
inline std::string describe_spec(const channel_slice_spec& s) {
    return "channel_slice(begin=" + std::to_string(s.begin) + ",count=" + std::to_string(s.count) + ")";
}
template <class S>
std::string describe_spec(const S&) {
    return std::string(S::kind_name);
}
}  // namespace detail

/// Canonical text of the kind and hyper-parameters, e.g. "conv2d(out=32,k=3x3,s=2x2,p=(1,1,1,1),g=1,bias=0)".
/// Equal specs give equal text; used in error messages and layer fingerprints.
[[nodiscard]] inline std::string describe(const layer_spec& spec) {
    return std::visit([](const auto& s) { return detail::describe_spec(s); }, spec);
}

}  // namespace stemshare
