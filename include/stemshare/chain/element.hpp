#pragma once
/// \file
/// The `ChainElement` concept and its simplest model, `static_layer<Spec>`: one layer whose
/// hyper-parameters are template arguments, so shapes, FLOPs and parameter counts are constants.

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/layers/depthwise_conv2d.hpp>
#include <stemshare/layers/layer_spec.hpp>

namespace stemshare {

/// Something a chain can hold: it checks an input shape, infers its output, counts its graph
/// layers, FLOPs and parameters, and lowers itself into a run-time graph.
template <class E>
concept ChainElement = requires(shape in, graph& g, value_id v, const std::string& prefix) {
    { E::check(in) } -> std::same_as<diagnostic>;
    { E::output(in) } -> std::same_as<shape>;
    { E::flops(in) } -> std::same_as<std::int64_t>;
    { E::param_count(in) } -> std::same_as<std::int64_t>;
    { E::layer_count } -> std::convertible_to<std::size_t>;
    { E::lower(g, v, prefix) } -> std::same_as<value_id>;
};

/// One layer. `Spec` is any unary layer spec (conv2d_spec, depthwise_conv2d_spec, dense_spec, ...).
template <auto Spec>
struct static_layer {
    using spec_type = std::remove_cvref_t<decltype(Spec)>;
    static constexpr spec_type spec = Spec;
    static constexpr std::size_t layer_count = 1;

    static constexpr diagnostic check(shape in) { return spec.check(in); }
    static constexpr shape output(shape in) { return spec.output_shape(in); }
    static constexpr std::int64_t flops(shape in) { return spec.flops(in); }
    static constexpr std::int64_t param_count(shape in) { return spec.params(in).numel(); }

    static value_id lower(graph& g, value_id in, const std::string& prefix) {
        const std::string name = prefix + std::string(spec_type::kind_name);
        if constexpr (std::is_same_v<spec_type, depthwise_conv2d_spec>)
            return g.add(name, spec.to_conv2d(g.shape_of(in)), {in});
        else
            return g.add(name, spec, {in});
    }
};

}  // namespace stemshare
