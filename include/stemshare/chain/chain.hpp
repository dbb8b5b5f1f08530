#pragma once
/// \file
/// `chain<In, Es...>`: a model whose structure is a type. Built with `input<c, h, w> | layer | ...`;
/// every `|` checks the new element against the shape the chain gives it, at compile time, and a
/// misfit is a `static_assert` whose note says which rule failed. Shapes, layer counts, FLOPs,
/// parameter counts and branch points are constants; `to_graph()` lowers it for a backend.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/sequence.hpp>

namespace stemshare {

template <shape In, ChainElement... Es>
class chain {
    static_assert(!In.empty(), "stemshare: a chain's input shape must have positive extents");
    using body = sequence<Es...>;

public:
    [[nodiscard]] static constexpr shape input_shape() noexcept { return In; }
    [[nodiscard]] static constexpr shape output_shape() { return body::output(In); }
    /// Number of elements (a block counts once).
    [[nodiscard]] static constexpr std::size_t size() noexcept { return sizeof...(Es); }
    /// Number of layers in the lowered graph.
    [[nodiscard]] static constexpr std::size_t layer_count() noexcept { return body::layer_count; }
    [[nodiscard]] static constexpr std::int64_t flops() { return body::flops(In); }
    [[nodiscard]] static constexpr std::int64_t param_count() { return body::param_count(In); }

    /// Where a stem may end, as a number of graph layers: 0, then after every element. A stem of
    /// k layers is the first k layers of `to_graph()`.
    [[nodiscard]] static constexpr std::array<std::size_t, sizeof...(Es) + 1> branch_points() noexcept {
        std::array<std::size_t, sizeof...(Es) + 1> points{};
        std::size_t i = 0;
        std::size_t layers = 0;
        points[i++] = 0;
        ((layers += Es::layer_count, points[i++] = layers), ...);
        return points;
    }

    /// The run-time graph (weights unbound), with the chain's branch points declared.
    [[nodiscard]] static graph to_graph() {
        graph g(In);
        std::size_t index = 0;
        value_id v = graph_input;
        ((v = Es::lower(g, v, std::to_string(index++) + ".")), ...);
        const auto points = branch_points();
        g.set_branch_points(std::vector<std::size_t>(points.begin(), points.end()));
        return g;
    }
};

/// The start of every chain: a per-image input of c channels, h rows and w columns.
template <std::int64_t C, std::int64_t H, std::int64_t W>
inline constexpr chain<shape{C, H, W}> input{};

namespace detail {
template <shape In, class... Es, class... Fs>
constexpr auto append(chain<In, Es...>, sequence<Fs...>) {
    return chain<In, Es..., Fs...>{};
}
}  // namespace detail

/// Appends an element (or each element of a sequence) to a chain, checking it fits.
template <shape In, class... Es, ChainElement E>
constexpr auto operator|(chain<In, Es...> c, E) {
    static_assert(
        layer_fits<E::check(chain<In, Es...>::output_shape())>,
        "stemshare: this layer does not fit the shape the chain gives it (the note below says why)");
    return detail::append(c, typename detail::as_sequence<E>::type{});
}

}  // namespace stemshare
