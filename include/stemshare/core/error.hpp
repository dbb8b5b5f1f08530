#pragma once
/// \file
/// The one exception type of stemshare. Every failure a user can cause (bad shapes, bad files,
/// impossible budgets) surfaces as `stemshare::error`, whose message names what was wrong and where.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace stemshare {

/// Thrown for every user-visible failure. `what()` is the full message ("context: detail");
/// `context()` is the part that names the layer, file or field, `detail()` the rest.
class error : public std::runtime_error {
public:
    error(std::string context, std::string detail)
        : std::runtime_error(context.empty() ? detail : context + ": " + detail),
          context_(std::move(context)),
          detail_(std::move(detail)) {}

    explicit error(std::string detail) : error(std::string{}, std::move(detail)) {}

    [[nodiscard]] const std::string& context() const noexcept { return context_; }
    [[nodiscard]] const std::string& detail() const noexcept { return detail_; }

private:
    std::string context_;
    std::string detail_;
};

/// Throws `stemshare::error(context, detail)` unless `condition` holds.
inline void require(bool condition, std::string_view context, std::string_view detail) {
    if (!condition) throw error(std::string(context), std::string(detail));
}

}  // namespace stemshare
