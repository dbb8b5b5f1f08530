#pragma once
// The examples' command-line numbers: a value that is not a whole number (or is negative where
// the type is unsigned) is a one-line error, not an uncaught std::stoi exception.

#include <charconv>
#include <cstdio>
#include <optional>
#include <string_view>
#include <system_error>

template <class T>
std::optional<T> parse_whole_number(const char* flag, std::string_view text) {
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
        std::fprintf(stderr, "error: %s: '%.*s' is not a whole number\n", flag, static_cast<int>(text.size()),
                     text.data());
        return std::nullopt;
    }
    return value;
}
