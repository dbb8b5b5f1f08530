#pragma once
// Honest skips: a test case that cannot run here (a CPU without the ISA it needs, an optional
// package that is not installed) prints one marker line and returns. ctest's SKIP_REGULAR_EXPRESSION
// (tests/CMakeLists.txt) turns that line into SKIPPED instead of Passed; doctest has no run-time
// skip of its own. ctest reports SKIPPED whatever the exit code once the marker is printed, so skip
// only at the top of a case, before any check: a failed check before the marker would be hidden.

#include <iostream>
#include <string>
#include <string_view>

namespace stemshare::test {

/// The line ctest looks for; keep it in sync with SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt.
inline constexpr std::string_view skip_marker = "STEMSHARE_TEST_SKIPPED:";

/// Prints the skip marker with `why` (flushed, so the line is there even if the process dies later).
inline void report_skip(std::string_view why) {
    std::cout << skip_marker << ' ' << why << std::endl;
}

}  // namespace stemshare::test

/// Ends the current test case as SKIPPED (in ctest) when `condition` holds, saying why.
#define STEMSHARE_SKIP_IF(condition, why)        \
    do {                                         \
        if (condition) {                         \
            ::stemshare::test::report_skip(why); \
            return;                              \
        }                                        \
    } while (false)
