#pragma once
/// \file
/// `diagnostic`: the result of checking a layer against its input, usable at compile time and at
/// run time. Because it is a structural type holding its text, a failed compile-time check prints
/// the text inside the compiler's note (`layer_fits<diagnostic{"conv2d: ..."}>`), so compile-time
/// chains and run-time graphs share one set of rules and one wording.

#include <cstddef>
#include <string>

namespace stemshare {

struct diagnostic {
    static constexpr std::size_t capacity = 160;
    char text[capacity]{};

    constexpr diagnostic() = default;
    /// A failed check with message `message` (truncated to fit).
    constexpr diagnostic(const char* message) {  // NOLINT(google-explicit-constructor): terse checks
        for (std::size_t i = 0; message[i] != '\0' && i + 1 < capacity; ++i) text[i] = message[i];
    }

    [[nodiscard]] constexpr bool ok() const noexcept { return text[0] == '\0'; }
    [[nodiscard]] std::string message() const { return std::string(text); }
};

/// True when a check passed; used as `static_assert(layer_fits<check(...)>, "...")` so that the
/// failing diagnostic's text shows up in the compiler output.
template <diagnostic D>
inline constexpr bool layer_fits = D.ok();

}  // namespace stemshare
