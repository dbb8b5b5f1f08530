#pragma once
/// \file
/// Planner selection by name (for the CLI and scripts) and the No-/Max-sharing baselines.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/sched/exact.hpp>
#include <stemshare/sched/greedy.hpp>
#include <stemshare/sched/mainstream_greedy.hpp>
#include <stemshare/sched/plan.hpp>
#include <stemshare/sched/problem.hpp>

namespace stemshare::sched {

/// The planners stemshare ships.
enum class planner_kind {
    mainstream_greedy,  ///< the original Mainstream greedy, bit for bit (mean objective only)
    greedy,             ///< stemshare's greedy: gain per marginal cost
    exact,              ///< the true optimum (at most `exact_max_apps` apps)
};

/// Name used by the CLI and reports.
[[nodiscard]] constexpr std::string_view to_string(planner_kind k) noexcept {
    switch (k) {
        case planner_kind::mainstream_greedy:
            return "mainstream_greedy";
        case planner_kind::greedy:
            return "greedy";
        case planner_kind::exact:
            return "exact";
    }
    return "?";
}

/// Parses "mainstream_greedy", "greedy" or "exact"; throws `stemshare::error` otherwise.
[[nodiscard]] inline planner_kind parse_planner(std::string_view name) {
    for (planner_kind k : {planner_kind::mainstream_greedy, planner_kind::greedy, planner_kind::exact})
        if (name == to_string(k)) return k;
    throw error("--planner",
                "unknown planner '" + std::string(name) + "' (expected mainstream_greedy, greedy or exact)");
}

/// Parses "mainstream", "nosharing" or "maxsharing"; throws `stemshare::error` otherwise.
[[nodiscard]] inline mode parse_mode(std::string_view name) {
    for (mode m : {mode::mainstream, mode::nosharing, mode::maxsharing})
        if (name == to_string(m)) return m;
    throw error("--mode",
                "unknown mode '" + std::string(name) + "' (expected mainstream, nosharing or maxsharing)");
}

/// Parses "mean", "min" or "weighted"; throws `stemshare::error` otherwise.
[[nodiscard]] inline objective parse_objective(std::string_view name) {
    for (objective o : {objective::mean, objective::min, objective::weighted})
        if (name == to_string(o)) return o;
    throw error("--objective",
                "unknown objective '" + std::string(name) + "' (expected mean, min or weighted)");
}

/// Runs planner `kind` on `p`. `mainstream_greedy` ignores `obj` (the original only maximises
/// mean F1) and, like the original, may return an infeasible start plan; the others throw
/// `stemshare::error` when the budget is below the cheapest plan.
[[nodiscard]] constexpr plan run_planner(planner_kind kind, const problem& p, double budget,
                                         objective obj = objective::mean) {
    switch (kind) {
        case planner_kind::mainstream_greedy:
            return mainstream_greedy(p, budget);
        case planner_kind::greedy:
            return greedy(p, budget, obj);
        case planner_kind::exact:
            return exact(p, budget, obj);
    }
    return exact(p, budget, obj);
}

/// The No-sharing baseline: every app at k = 0 with its fps chosen by `kind` (fps grid
/// 0.1..0.9 and 1..F). Not a fixed-fps plan: the original's scripts optimise each app's fps too.
[[nodiscard]] constexpr plan no_sharing(std::vector<app_spec> apps, cost_model costs, double stream_fps,
                                        double budget, objective obj = objective::mean,
                                        planner_kind kind = planner_kind::exact) {
    const problem p(std::move(apps), std::move(costs), stream_fps, mode::nosharing);
    return run_planner(kind, p, budget, obj);
}

/// The Max-sharing baseline: every app at its largest branch point (all but the last layer
/// shared) with its fps chosen by `kind` (fps 1..F).
[[nodiscard]] constexpr plan max_sharing(std::vector<app_spec> apps, cost_model costs, double stream_fps,
                                         double budget, objective obj = objective::mean,
                                         planner_kind kind = planner_kind::exact) {
    const problem p(std::move(apps), std::move(costs), stream_fps, mode::maxsharing);
    return run_planner(kind, p, budget, obj);
}

}  // namespace stemshare::sched
