#pragma once
/// \file
/// The description of one app as the planners see it: event statistics plus its curve of per-frame
/// rates over branch points.

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/sched/curve.hpp>

namespace stemshare::sched {

/// One video-analytics app: what its events look like and how well each candidate detects them.
struct app_spec {
    std::string name;                ///< unique label in reports (a name may repeat in a mix)
    double event_length_ms = 500.0;  ///< L: event length in milliseconds
    double event_frequency = 0.2;    ///< e: fraction of windows that hold an event, in [0, 1]
    double correlation = 0.107;      ///< c: frame correlation within an event, in [0, 1]
    double weight = 1.0;             ///< weight in the `weighted` objective (>= 0)
    std::vector<curve_point> curve;  ///< raw candidates; must contain num_frozen = 0
};

namespace detail {

[[nodiscard]] inline std::string app_context(const app_spec& app) {
    return "app '" + app.name + "'";
}

[[nodiscard]] constexpr bool in_unit_interval(double x) noexcept {
    return x >= 0.0 && x <= 1.0;
}

}  // namespace detail

/// Throws `stemshare::error` naming the app and the field unless `app` is usable with a model of
/// `num_layers` layers. A field whose apps-file key differs from its name is named by both.
constexpr void validate(const app_spec& app, std::size_t num_layers) {
    if (!(app.event_length_ms > 0.0) || app.event_length_ms > 1e12)
        throw error(detail::app_context(app), "event_length_ms must be positive and finite");
    if (!detail::in_unit_interval(app.event_frequency))
        throw error(detail::app_context(app), "event_frequency must be in [0, 1]");
    if (!detail::in_unit_interval(app.correlation))
        throw error(detail::app_context(app),
                    "correlation ('correlation_coefficient' in an apps file) must be in [0, 1]");
    if (!(app.weight >= 0.0) || app.weight > 1e300)
        throw error(detail::app_context(app), "weight must be finite and >= 0");
    if (app.curve.empty()) throw error(detail::app_context(app), "curve is empty");
    bool has_zero = false;
    for (const curve_point& p : app.curve) {
        if (p.num_frozen < 0 || static_cast<std::size_t>(p.num_frozen) >= num_layers)
            throw error(detail::app_context(app), "curve num_frozen " + std::to_string(p.num_frozen) +
                                                      " outside [0, " + std::to_string(num_layers) + ")");
        if (!detail::in_unit_interval(p.true_positive_rate))
            throw error(detail::app_context(app),
                        "curve true_positive_rate ('accuracy' in an apps file) at num_frozen " +
                            std::to_string(p.num_frozen) + " outside [0, 1]");
        if (!detail::in_unit_interval(p.false_positive_rate))
            throw error(detail::app_context(app),
                        "curve false_positive_rate ('p_identified_inv' in an apps file) at num_frozen " +
                            std::to_string(p.num_frozen) + " outside [0, 1]");
        has_zero = has_zero || p.num_frozen == 0;
        const auto same = std::count_if(app.curve.begin(), app.curve.end(),
                                        [&](const curve_point& q) { return q.num_frozen == p.num_frozen; });
        if (same > 1)
            throw error(detail::app_context(app),
                        "curve lists num_frozen " + std::to_string(p.num_frozen) + " twice");
    }
    if (!has_zero)
        throw error(detail::app_context(app),
                    "curve has no branch point num_frozen = 0 (the unshared model)");
}

}  // namespace stemshare::sched
