#pragma once
/// \file
/// stemshare's greedy planner: objective gain per unit of marginal cost.

#include <cstddef>
#include <vector>

#include <stemshare/sched/pareto_options.hpp>
#include <stemshare/sched/plan.hpp>
#include <stemshare/sched/problem.hpp>
#include <stemshare/sched/stem_envelope.hpp>

namespace stemshare::sched {

namespace detail {

/// The greedy's scalar score of an app's F1 under an objective.
[[nodiscard]] constexpr double greedy_value(const problem& p, std::size_t i, const option& o,
                                            objective obj) {
    return obj == objective::weighted ? p.app(i).weight * o.quality.f1 : o.quality.f1;
}

}  // namespace detail

/// Starts from the cheapest plan (Max-sharing at the lowest fps). Each round evaluates every move
/// of one app to another non-dominated option (see `pareto_options`) and applies the one with the
/// largest objective gain per unit of marginal plan cost (a move that gains without adding cost
/// comes first, the largest gain among those), among moves that keep cost <= budget. It stops when
/// no move gains. Unlike `mainstream_greedy` it measures the marginal cost of the whole plan, so
/// a move onto an existing stem is cheap, and it ranks by gain, not by remaining error.
/// For `objective::min` a move's gain is (N + 1) x (rise of the plan's min F1) + (rise of the sum),
/// so raising the worst app dominates. Throws `stemshare::error` if the budget is below the
/// cheapest plan.
[[nodiscard]] constexpr plan greedy(const problem& p, double budget, objective obj = objective::mean) {
    require_feasible_budget(p, budget);
    const std::size_t n = p.num_apps();
    std::vector<std::vector<const option*>> candidates(n);
    std::vector<const option*> current(n);
    for (std::size_t i = 0; i < n; ++i) {
        candidates[i] = pareto_options(p, i);
        const option* start = candidates[i].front();
        for (const option* o : candidates[i])
            if (o->fps_index == 0 && o->level > start->level) start = o;
        current[i] = start;
    }
    stem_envelope envelope(p);
    const auto weight_of_min = static_cast<double>(n + 1);
    for (;;) {
        envelope.reset(current);
        const double cost = envelope.cost();
        // For the min objective a move's effect on the plan minimum needs the smallest F1 of the
        // other apps: the two smallest values give it for every app.
        double low1 = 2.0, low2 = 2.0;
        std::size_t low_app = n;
        for (std::size_t i = 0; i < n; ++i) {
            const double f = current[i]->quality.f1;
            if (f < low1) {
                low2 = low1;
                low1 = f;
                low_app = i;
            } else if (f < low2) {
                low2 = f;
            }
        }
        bool found = false;
        bool best_free = false;
        double best_score = 0.0;
        double best_gain = 0.0;
        std::size_t best_app = 0;
        const option* best_option = nullptr;
        for (std::size_t i = 0; i < n; ++i) {
            envelope.focus(i);
            const double others_min = i == low_app ? low2 : low1;
            const double old_value = detail::greedy_value(p, i, *current[i], obj);
            for (const option* o : candidates[i]) {
                if (o == current[i]) continue;
                double gain = detail::greedy_value(p, i, *o, obj) - old_value;
                if (obj == objective::min) {
                    const double old_min = others_min < current[i]->quality.f1 ? others_min : current[i]->quality.f1;
                    const double new_min = others_min < o->quality.f1 ? others_min : o->quality.f1;
                    gain += weight_of_min * (new_min - old_min);
                }
                if (!(gain > 0.0)) continue;
                const double new_cost = envelope.cost_with(*o);
                if (!(new_cost <= budget + budget_tolerance)) continue;
                const double extra = new_cost - cost;
                const bool free = extra <= 0.0;
                const double score = free ? gain : gain / extra;
                const bool better = !found || (free && !best_free) ||
                                    (free == best_free && (score > best_score ||
                                                           (score == best_score && gain > best_gain)));
                if (better) {
                    found = true;
                    best_free = free;
                    best_score = score;
                    best_gain = gain;
                    best_app = i;
                    best_option = o;
                }
            }
        }
        if (!found) break;
        current[best_app] = best_option;
    }
    std::vector<cost_entry> choices;
    for (const option* o : current) choices.push_back({o->num_frozen, o->fps});
    return evaluate(p, choices, budget);
}

}  // namespace stemshare::sched
