#pragma once
/// \file
/// `sequence<Es...>`: elements applied one after another. `a | b` of two elements builds one;
/// appended to a chain, its elements become the chain's elements.

#include <cstddef>
#include <cstdint>
#include <string>

#include <stemshare/chain/element.hpp>

namespace stemshare {

template <ChainElement... Es>
struct sequence {
    static constexpr std::size_t layer_count = (std::size_t{0} + ... + Es::layer_count);
    static constexpr std::size_t size() noexcept { return sizeof...(Es); }

    /// The first failing element's diagnostic, or ok.
    static constexpr diagnostic check(shape in) {
        diagnostic result{};
        [[maybe_unused]] shape s = in;
        (void)((([&] {
                    result = Es::check(s);
                    if (result.ok()) s = Es::output(s);
                    return result.ok();
                }()) &&
                ...));
        return result;
    }
    static constexpr shape output(shape in) {
        [[maybe_unused]] shape s = in;
        ((s = Es::output(s)), ...);
        return s;
    }
    static constexpr std::int64_t flops(shape in) {
        std::int64_t total = 0;
        [[maybe_unused]] shape s = in;
        ((total += Es::flops(s), s = Es::output(s)), ...);
        return total;
    }
    static constexpr std::int64_t param_count(shape in) {
        std::int64_t total = 0;
        [[maybe_unused]] shape s = in;
        ((total += Es::param_count(s), s = Es::output(s)), ...);
        return total;
    }
    /// Lowers each element in turn; element i is named "<prefix><i>.<kind>".
    static value_id lower(graph& g, value_id in, const std::string& prefix) {
        value_id v = in;
        std::size_t index = 0;
        ((v = Es::lower(g, v, prefix + std::to_string(index++) + ".")), ...);
        return v;
    }
};

namespace detail {
template <class T>
struct as_sequence {
    using type = sequence<T>;
};
template <class... Es>
struct as_sequence<sequence<Es...>> {
    using type = sequence<Es...>;
};
template <class A, class B>
struct join_sequences;
template <class... As, class... Bs>
struct join_sequences<sequence<As...>, sequence<Bs...>> {
    using type = sequence<As..., Bs...>;
};
}  // namespace detail

/// Composes two elements (or sequences) into one flat sequence; shapes are checked when the
/// sequence is attached to a chain, where the input shape is known.
template <ChainElement A, ChainElement B>
constexpr auto operator|(A, B) {
    return typename detail::join_sequences<typename detail::as_sequence<A>::type,
                                           typename detail::as_sequence<B>::type>::type{};
}

}  // namespace stemshare
