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

/// The flags examples 01 and 04 take.
struct example_flags {
    bool smoke = false;  ///< --smoke: a short run, as ctest does
    int threads = 0;     ///< --threads N (0 = all cores)
};

/// Parses `--smoke` and `--threads N`; anything else prints the usage line and gives nullopt.
inline std::optional<example_flags> parse_example_flags(int argc, char** argv) {
    example_flags flags;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--smoke") {
            flags.smoke = true;
        } else if (std::string_view(argv[i]) == "--threads" && i + 1 < argc) {
            const auto value = parse_whole_number<int>("--threads", argv[++i]);
            if (!value) return std::nullopt;
            flags.threads = *value;
        } else {
            std::fprintf(stderr, "usage: %s [--smoke] [--threads N]\n", argv[0]);
            return std::nullopt;
        }
    }
    return flags;
}
