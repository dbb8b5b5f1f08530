#pragma once
/// \file
/// Multi-path blocks that a chain holds as single elements (so a stem never ends inside one):
/// `residual(body[, shortcut])` (ResNet, MobileNetV2), `inception(branches...)` (channel concat),
/// `squeeze_excitation<S>(act, gate)` (MobileNetV3, EfficientNet: a per-channel gate computed
/// from the block's own input), and `block(sequence)`, which only groups layers so the chain has
/// no branch point inside them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <stemshare/chain/sequence.hpp>
#include <stemshare/layers/conv2d.hpp>
#include <stemshare/layers/merge.hpp>
#include <stemshare/layers/multiply.hpp>
#include <stemshare/layers/pool2d.hpp>

namespace stemshare {

/// out = body(x) + shortcut(x); an empty shortcut is the identity.
template <class Body, class Shortcut>
struct residual_block {
    static constexpr std::size_t layer_count = Body::layer_count + Shortcut::layer_count + 1;

    static constexpr diagnostic check(shape in) {
        if (const diagnostic d = Body::check(in); !d.ok()) return d;
        if (const diagnostic d = Shortcut::check(in); !d.ok()) return d;
        if (Body::output(in) != Shortcut::output(in))
            return "residual: the body's output shape differs from the shortcut's (add a projection "
                   "shortcut)";
        return {};
    }
    static constexpr shape output(shape in) { return Body::output(in); }
    static constexpr std::int64_t flops(shape in) { return Body::flops(in) + Shortcut::flops(in); }
    static constexpr std::int64_t param_count(shape in) {
        return Body::param_count(in) + Shortcut::param_count(in);
    }
    static value_id lower(graph& g, value_id in, const std::string& prefix) {
        const value_id body = Body::lower(g, in, prefix + "body.");
        const value_id shortcut = Shortcut::size() == 0 ? in : Shortcut::lower(g, in, prefix + "shortcut.");
        return g.add(prefix + "add", add_spec{}, {body, shortcut});
    }
};

/// Branches run on the same input; their outputs are concatenated along channels.
template <class... Branches>
struct concat_block {
    static_assert(sizeof...(Branches) >= 2, "stemshare: inception needs at least two branches");
    static constexpr std::size_t layer_count = (std::size_t{0} + ... + Branches::layer_count) + 1;

    static constexpr diagnostic check(shape in) {
        diagnostic result{};
        (void)((([&] {
                    result = Branches::check(in);
                    return result.ok();
                }()) &&
                ...));
        if (!result.ok()) return result;
        const shape first = (Branches::output(in), ...);
        if (((Branches::output(in).h != first.h || Branches::output(in).w != first.w) || ...))
            return "inception: branch outputs differ in height or width";
        return {};
    }
    static constexpr shape output(shape in) {
        shape out = (Branches::output(in), ...);
        out.c = (std::int64_t{0} + ... + Branches::output(in).c);
        return out;
    }
    static constexpr std::int64_t flops(shape in) { return (std::int64_t{0} + ... + Branches::flops(in)); }
    static constexpr std::int64_t param_count(shape in) {
        return (std::int64_t{0} + ... + Branches::param_count(in));
    }
    static value_id lower(graph& g, value_id in, const std::string& prefix) {
        std::vector<value_id> outs;
        std::size_t index = 0;
        ((outs.push_back(Branches::lower(g, in, prefix + "branch" + std::to_string(index++) + "."))), ...);
        return g.add(prefix + "concat", concat_spec{}, outs);
    }
};

/// A group of layers that a chain treats as one element.
template <class Seq>
struct grouped_block {
    static constexpr std::size_t layer_count = Seq::layer_count;
    static constexpr diagnostic check(shape in) { return Seq::check(in); }
    static constexpr shape output(shape in) { return Seq::output(in); }
    static constexpr std::int64_t flops(shape in) { return Seq::flops(in); }
    static constexpr std::int64_t param_count(shape in) { return Seq::param_count(in); }
    static value_id lower(graph& g, value_id in, const std::string& prefix) {
        return Seq::lower(g, in, prefix);
    }
};

/// Squeeze-and-excitation (Hu et al. 2018, as torchvision's SqueezeExcitation): x * Gate(fc2(Act(
/// fc1(global_avg_pool(x))))), where fc1 is a 1x1 conv with bias to `Squeeze` channels and fc2 one
/// back to x's channels; the gate, one value per channel, scales x. The input stays live until the
/// multiply, so the lowered graph has no cut point inside and a stem never ends in the middle.
template <std::int64_t Squeeze, class Act, class Gate>
struct squeeze_excitation_block {
    static constexpr std::size_t layer_count = 4 + Act::layer_count + Gate::layer_count;

    static constexpr global_avg_pool_spec pool{};
    static constexpr conv2d_spec fc1{.out_channels = Squeeze, .bias = true};
    static constexpr conv2d_spec fc2(shape in) { return {.out_channels = in.c, .bias = true}; }

    static constexpr diagnostic check(shape in) {
        if (const diagnostic d = pool.check(in); !d.ok()) return d;
        const shape pooled = pool.output_shape(in);
        if (const diagnostic d = fc1.check(pooled); !d.ok()) return d;
        const shape squeezed = fc1.output_shape(pooled);
        if (const diagnostic d = Act::check(squeezed); !d.ok()) return d;
        if (Act::output(squeezed) != squeezed)
            return "squeeze_excitation: the activation must keep the squeezed shape";
        if (const diagnostic d = Gate::check(pooled); !d.ok()) return d;
        if (Gate::output(pooled) != pooled)
            return "squeeze_excitation: the gate must keep the per-channel shape";
        return {};
    }
    static constexpr shape output(shape in) { return in; }
    static constexpr std::int64_t flops(shape in) {
        const shape pooled = pool.output_shape(in);
        const shape squeezed = fc1.output_shape(pooled);
        const std::array<shape, 2> scaled{in, pooled};
        return fc1.flops(pooled) + Act::flops(squeezed) + fc2(in).flops(squeezed) + Gate::flops(pooled) +
               multiply_spec{}.flops(scaled);
    }
    static constexpr std::int64_t param_count(shape in) {
        const shape pooled = pool.output_shape(in);
        const shape squeezed = fc1.output_shape(pooled);
        return fc1.params(pooled).numel() + Act::param_count(squeezed) + fc2(in).params(squeezed).numel() +
               Gate::param_count(pooled);
    }
    /// Nodes "<prefix>pool", "<prefix>fc1", "<prefix>squeeze.<act>", "<prefix>fc2",
    /// "<prefix>excite.<gate>" and "<prefix>scale" (the multiply reading the block input).
    static value_id lower(graph& g, value_id in, const std::string& prefix) {
        const shape x = g.shape_of(in);
        const value_id pooled = g.add(prefix + "pool", pool, {in});
        const value_id squeezed = Act::lower(g, g.add(prefix + "fc1", fc1, {pooled}), prefix + "squeeze.");
        const value_id gate = Gate::lower(g, g.add(prefix + "fc2", fc2(x), {squeezed}), prefix + "excite.");
        return g.add(prefix + "scale", multiply_spec{}, {in, gate});
    }
};

template <ChainElement Body>
constexpr auto residual(Body) {
    return residual_block<typename detail::as_sequence<Body>::type, sequence<>>{};
}
template <ChainElement Body, ChainElement Shortcut>
constexpr auto residual(Body, Shortcut) {
    return residual_block<typename detail::as_sequence<Body>::type,
                          typename detail::as_sequence<Shortcut>::type>{};
}
template <ChainElement... Branches>
constexpr auto inception(Branches...) {
    return concat_block<typename detail::as_sequence<Branches>::type...>{};
}
/// `squeeze_excitation<16>(relu, hard_sigmoid)`: MobileNetV3's gate with 16 squeezed channels.
template <std::int64_t Squeeze, ChainElement Act, ChainElement Gate>
constexpr auto squeeze_excitation(Act, Gate) {
    static_assert(Squeeze > 0, "stemshare: squeeze_excitation needs a positive number of squeezed channels");
    return squeeze_excitation_block<Squeeze, typename detail::as_sequence<Act>::type,
                                    typename detail::as_sequence<Gate>::type>{};
}
template <ChainElement Body>
constexpr auto block(Body) {
    return grouped_block<typename detail::as_sequence<Body>::type>{};
}

}  // namespace stemshare
