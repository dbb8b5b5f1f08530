#pragma once
/// \file
/// The plan every planner returns (per app: branch point and fps; totals), how plans are scored
/// under each objective, and `evaluate`, which builds a plan from explicit choices.

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/sched/app_quality.hpp>
#include <stemshare/sched/cost_model.hpp>
#include <stemshare/sched/problem.hpp>

namespace stemshare::sched {

/// What a planner maximises (docs/scheduler.md, "API").
enum class objective {
    mean,      ///< sum (= mean) of F1; ties: larger min F1, then lower cost
    min,       ///< min F1, then sum of F1; ties: lower cost
    weighted,  ///< sum of app weight x F1; ties: larger min F1, then lower cost
};

/// Name used by the CLI and reports.
[[nodiscard]] constexpr std::string_view to_string(objective o) noexcept {
    switch (o) {
        case objective::mean:
            return "mean";
        case objective::min:
            return "min";
        case objective::weighted:
            return "weighted";
    }
    return "?";
}

/// Feasibility slack: cost <= budget + budget_tolerance.
inline constexpr double budget_tolerance = 1e-9;
/// Objective values closer than this are ties.
inline constexpr double objective_tolerance = 1e-9;

/// One app's part of a plan.
struct app_choice {
    int num_frozen = 0;        ///< branch point k: layers 0..k-1 come from the shared stem
    double fps = 0.0;          ///< frames per second this app analyses
    app_quality quality;       ///< predicted recall, precision and F1
    double suffix_cost = 0.0;  ///< cost of the app's own layers k..end at its fps

    friend constexpr bool operator==(const app_choice&, const app_choice&) = default;
};

/// A complete plan: one choice per app, in the problem's app order, and its totals. The runtime
/// executes `apps` (shared stems are implied by equal prefixes).
struct plan {
    std::vector<app_choice> apps;  ///< per app, in input order
    double cost = 0.0;             ///< cost model value of the whole plan
    double budget = 0.0;           ///< the budget it was planned for
    double sum_f1 = 0.0;           ///< sum of F1 over apps
    double min_f1 = 0.0;           ///< smallest F1
    double weighted_f1 = 0.0;      ///< sum of weight x F1

    /// Mean F1 over apps.
    [[nodiscard]] constexpr double mean_f1() const noexcept {
        return apps.empty() ? 0.0 : sum_f1 / static_cast<double>(apps.size());
    }
    /// cost <= budget (with `budget_tolerance`).
    [[nodiscard]] constexpr bool feasible() const noexcept { return cost <= budget + budget_tolerance; }

    friend constexpr bool operator==(const plan&, const plan&) = default;
};

/// A plan of exactly N apps without heap storage, so a plan computed in constant evaluation can
/// be kept in a `constexpr` variable (a `std::vector` cannot outlive constant evaluation).
template <std::size_t N>
struct fixed_plan {
    std::array<app_choice, N> apps{};  ///< per app, in input order
    double cost = 0.0;                 ///< as `plan::cost`
    double budget = 0.0;               ///< as `plan::budget`
    double sum_f1 = 0.0;               ///< as `plan::sum_f1`
    double min_f1 = 0.0;               ///< as `plan::min_f1`
    double weighted_f1 = 0.0;          ///< as `plan::weighted_f1`

    /// Mean F1 over apps.
    [[nodiscard]] constexpr double mean_f1() const noexcept {
        return N == 0 ? 0.0 : sum_f1 / static_cast<double>(N);
    }
    /// cost <= budget (with `budget_tolerance`).
    [[nodiscard]] constexpr bool feasible() const noexcept { return cost <= budget + budget_tolerance; }

    friend constexpr bool operator==(const fixed_plan&, const fixed_plan&) = default;
};

/// Copies a plan of N apps into a `fixed_plan<N>`; throws `stemshare::error` if it has another size.
template <std::size_t N>
[[nodiscard]] constexpr fixed_plan<N> to_fixed(const plan& pl) {
    if (pl.apps.size() != N) throw error("to_fixed", "plan has " + std::to_string(pl.apps.size()) + " apps");
    fixed_plan<N> out;
    for (std::size_t i = 0; i < N; ++i) out.apps[i] = pl.apps[i];
    out.cost = pl.cost;
    out.budget = pl.budget;
    out.sum_f1 = pl.sum_f1;
    out.min_f1 = pl.min_f1;
    out.weighted_f1 = pl.weighted_f1;
    return out;
}

/// Builds the plan that puts app i at (choices[i].num_frozen, choices[i].fps). Throws
/// `stemshare::error` if a k is not a branch point of that app's curve, or an fps is not in
/// (0, stream fps].
[[nodiscard]] constexpr plan evaluate(const problem& p, const std::vector<cost_entry>& choices,
                                      double budget) {
    if (choices.size() != p.num_apps())
        throw error("plan", "has " + std::to_string(choices.size()) + " choices for " +
                                std::to_string(p.num_apps()) + " apps");
    plan result;
    result.budget = budget;
    for (std::size_t i = 0; i < choices.size(); ++i) {
        const cost_entry& c = choices[i];
        if (!(c.fps > 0.0) || c.fps > p.stream_fps())
            throw error(detail::app_context(p.app(i)), "fps " + std::to_string(c.fps) +
                                                           " is outside (0, stream fps " +
                                                           std::to_string(p.stream_fps()) + "]");
        app_choice a;
        a.num_frozen = c.num_frozen;
        a.fps = c.fps;
        a.quality = p.quality(i, c.num_frozen, c.fps);
        a.suffix_cost = p.costs().suffix_cost(c.num_frozen, c.fps);
        result.sum_f1 += a.quality.f1;
        result.weighted_f1 += p.app(i).weight * a.quality.f1;
        result.min_f1 = i == 0 ? a.quality.f1 : std::min(result.min_f1, a.quality.f1);
        result.apps.push_back(a);
    }
    result.cost = p.costs().plan_cost(choices);
    return result;
}

/// The (k, fps) pairs of a plan, for `evaluate` or `cost_model::plan_cost`.
[[nodiscard]] constexpr std::vector<cost_entry> entries(const plan& pl) {
    std::vector<cost_entry> out;
    for (const app_choice& a : pl.apps) out.push_back({a.num_frozen, a.fps});
    return out;
}

namespace detail {

[[nodiscard]] constexpr int compare_values(double x, double y, double tol) noexcept {
    if (x > y + tol) return 1;
    if (y > x + tol) return -1;
    return 0;
}

}  // namespace detail

/// > 0 if `a` is better than `b` under `obj`, < 0 if worse, 0 if tied (values within
/// `objective_tolerance`, costs within `budget_tolerance`). Feasibility is not considered.
[[nodiscard]] constexpr int compare(const plan& a, const plan& b, objective obj) noexcept {
    int c = 0;
    switch (obj) {
        case objective::mean:
            c = detail::compare_values(a.sum_f1, b.sum_f1, objective_tolerance);
            if (c == 0) c = detail::compare_values(a.min_f1, b.min_f1, objective_tolerance);
            break;
        case objective::weighted:
            c = detail::compare_values(a.weighted_f1, b.weighted_f1, objective_tolerance);
            if (c == 0) c = detail::compare_values(a.min_f1, b.min_f1, objective_tolerance);
            break;
        case objective::min:
            c = detail::compare_values(a.min_f1, b.min_f1, objective_tolerance);
            if (c == 0) c = detail::compare_values(a.sum_f1, b.sum_f1, objective_tolerance);
            break;
    }
    if (c == 0) c = detail::compare_values(b.cost, a.cost, budget_tolerance);
    return c;
}

/// Throws `stemshare::error` unless `budget` is a finite non-negative number (NaN and infinity
/// fail: written `!(a <= b)` because std::isnan is not constexpr).
constexpr void validate_budget(double budget) {
    if (!(budget >= 0.0) || !(budget <= std::numeric_limits<double>::max()))
        throw error("budget", "must be a non-negative number and finite, got " + std::to_string(budget));
}

/// The planners' common guard: throws `stemshare::error` when even the cheapest plan exceeds `budget`.
constexpr void require_feasible_budget(const problem& p, double budget) {
    validate_budget(budget);
    const double cheapest = p.cheapest_cost();
    if (cheapest > budget + budget_tolerance)
        throw error("budget", "budget " + std::to_string(budget) + " is below the cheapest plan (cost " +
                                  std::to_string(cheapest) +
                                  ": every app at its largest branch point and lowest fps)");
}

}  // namespace stemshare::sched
