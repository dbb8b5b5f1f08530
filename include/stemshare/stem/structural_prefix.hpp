#pragma once
/// \file
/// `structural_prefix`: for two compile-time chains, how many leading graph layers have the same
/// structure (same input shape and the same element types, which encode every hyper-parameter).
/// It is a constant, so a product with a fixed app mix can `static_assert` how much its apps can
/// share; at run time the stem trie confirms it from fingerprints, which also see the weights
/// (equal structure shares only where the frozen weights are equal too).

#include <cstddef>
#include <type_traits>

#include <stemshare/chain/chain.hpp>

namespace stemshare::stem {

namespace detail {
template <class... Es>
struct element_list {};

template <class A, class B>
struct common_prefix {
    static constexpr std::size_t layers = 0;
};
template <class E, class... As, class... Bs>
struct common_prefix<element_list<E, As...>, element_list<E, Bs...>> {
    static constexpr std::size_t layers =
        E::layer_count + common_prefix<element_list<As...>, element_list<Bs...>>::layers;
};
}  // namespace detail

/// Graph layers of the longest common element prefix of chains `a` and `b` (0 when their input
/// shapes differ). Always a branch point of both.
template <shape InA, class... As, shape InB, class... Bs>
[[nodiscard]] constexpr std::size_t structural_prefix(chain<InA, As...>, chain<InB, Bs...>) noexcept {
    if constexpr (InA != InB)
        return 0;
    else
        return detail::common_prefix<detail::element_list<As...>, detail::element_list<Bs...>>::layers;
}

}  // namespace stemshare::stem
