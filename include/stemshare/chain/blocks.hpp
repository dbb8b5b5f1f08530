#pragma once
/// \file
/// Multi-path blocks that a chain holds as single elements (so a stem never ends inside one):
/// `residual(body[, shortcut])` (ResNet, MobileNetV2), `inception(branches...)` (channel concat),
/// and `block(sequence)`, which only groups layers so the chain has no branch point inside them.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <stemshare/chain/sequence.hpp>
#include <stemshare/layers/merge.hpp>

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
template <ChainElement Body>
constexpr auto block(Body) {
    return grouped_block<typename detail::as_sequence<Body>::type>{};
}

}  // namespace stemshare
