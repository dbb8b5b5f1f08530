#pragma once
// What a stemshare::error says, for the tests that check error messages.

#include <string>
#include <utility>

#include <stemshare/core/error.hpp>

namespace stemshare::test {

/// The message of the stemshare::error that `f()` throws, or "(no error)" when it throws nothing
/// (so a failed check on the message shows that nothing was thrown).
template <class F>
std::string error_of(F&& f) {
    try {
        std::forward<F>(f)();
    } catch (const stemshare::error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace stemshare::test
