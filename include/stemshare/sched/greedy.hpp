#pragma once
/// \file
/// stemshare's greedy planner: objective gain per unit of marginal cost.

#include <cstddef>
#include <vector>

#include <stemshare/sched/mainstream_greedy.hpp>
#include <stemshare/sched/pareto_options.hpp>
#include <stemshare/sched/plan.hpp>
#include <stemshare/sched/problem.hpp>
#include <stemshare/sched/stem_envelope.hpp>

namespace stemshare::sched {

namespace detail {

/// The greedy's scalar score of an app's F1 under an objective.
[[nodiscard]] constexpr double greedy_value(const problem& p, std::size_t i, const option& o, objective obj) {
    return obj == objective::weighted ? p.app(i).weight * o.quality.f1 : o.quality.f1;
}

/// The score the greedy climbs: the objective's sum, and for `min` (N + 1) x min F1 + sum of F1,
/// so that raising the worst app outweighs anything else.
[[nodiscard]] constexpr double greedy_score(const problem& p, const std::vector<const option*>& plan_options,
                                            objective obj) {
    double sum = 0.0;
    double low = 2.0;
    for (std::size_t i = 0; i < plan_options.size(); ++i) {
        sum += greedy_value(p, i, *plan_options[i], obj);
        low = plan_options[i]->quality.f1 < low ? plan_options[i]->quality.f1 : low;
    }
    return obj == objective::min ? static_cast<double>(plan_options.size() + 1) * low + sum : sum;
}

/// Hill-climbs `current` by the move with the best gain per unit of marginal cost until no move
/// gains within the budget. Moves: one app to another of its `candidates`; or "every app to fps g
/// at its current k, where that raises its value" (one group move per grid fps), because raising
/// a shared stem's fps pays off only when the apps on it follow, which single moves cannot see.
constexpr void climb(const problem& p, double budget, objective obj,
                     const std::vector<std::vector<const option*>>& candidates,
                     const std::vector<std::vector<const option*>>& by_level_fps,
                     std::vector<const option*>& current) {
    const std::size_t n = p.num_apps();
    const std::size_t grid = p.fps_grid().size();
    stem_envelope envelope(p);
    stem_envelope trial_envelope(p);
    std::vector<const option*> trial(n);
    for (;;) {
        envelope.reset(current);
        const double cost = envelope.cost();
        double score = 0.0;  // computed only when a group move needs it
        bool scored = false;
        bool found = false, best_free = false;
        double best_rank = 0.0, best_gain = 0.0;
        std::size_t best_app = 0;
        const option* best_option = nullptr;
        std::size_t best_group = grid;  // a grid index when the best move is a group move
        const auto offer = [&](double gain, double new_cost) {
            if (!(gain > 0.0) || !(new_cost <= budget + budget_tolerance)) return false;
            const double extra = new_cost - cost;
            const bool free = extra <= 0.0;
            const double rank = free ? gain : gain / extra;
            const bool better =
                !found || (free && !best_free) ||
                (free == best_free && (rank > best_rank || (rank == best_rank && gain > best_gain)));
            if (!better) return false;
            found = true;
            best_free = free;
            best_rank = rank;
            best_gain = gain;
            return true;
        };
        // A single move's gain, in O(1): for `min` the new minimum needs the smallest F1 of the
        // other apps, which the two smallest F1 values give for every app.
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
        const auto weight_of_min = static_cast<double>(n + 1);
        for (std::size_t i = 0; i < n; ++i) {
            envelope.focus(i);
            const double others_min = i == low_app ? low2 : low1;
            const double old_value = greedy_value(p, i, *current[i], obj);
            const double old_min = others_min < current[i]->quality.f1 ? others_min : current[i]->quality.f1;
            for (const option* o : candidates[i]) {
                if (o == current[i]) continue;
                double gain = greedy_value(p, i, *o, obj) - old_value;
                if (obj == objective::min) {
                    const double new_min = others_min < o->quality.f1 ? others_min : o->quality.f1;
                    gain += weight_of_min * (new_min - old_min);
                }
                if (!(gain > 0.0)) continue;
                if (offer(gain, envelope.cost_with(*o))) {
                    best_app = i;
                    best_option = o;
                    best_group = grid;
                }
            }
        }
        for (std::size_t g = 0; g < grid; ++g) {
            bool changed = false;
            for (std::size_t i = 0; i < n; ++i) {
                const option* up = by_level_fps[i][static_cast<std::size_t>(current[i]->level) * grid + g];
                const bool raise = up != nullptr && up->fps > current[i]->fps &&
                                   greedy_value(p, i, *up, obj) > greedy_value(p, i, *current[i], obj);
                trial[i] = raise ? up : current[i];
                changed = changed || raise;
            }
            if (!changed) continue;
            if (!scored) {
                score = greedy_score(p, current, obj);
                scored = true;
            }
            trial_envelope.reset(trial);
            if (offer(greedy_score(p, trial, obj) - score, trial_envelope.cost())) best_group = g;
        }
        if (!found) return;
        if (best_group == grid) {
            current[best_app] = best_option;
            continue;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const option* up =
                by_level_fps[i][static_cast<std::size_t>(current[i]->level) * grid + best_group];
            if (up != nullptr && up->fps > current[i]->fps &&
                greedy_value(p, i, *up, obj) > greedy_value(p, i, *current[i], obj))
                current[i] = up;
        }
    }
}

}  // namespace detail

/// Hill-climbing by objective gain per unit of marginal plan cost (see `detail::climb`), run from
/// two starts, keeping the better plan under `obj`: the cheapest plan (every app at its largest
/// branch point and lowest fps), and the plan `mainstream_greedy` reaches, so it never does worse
/// than the original. Single-app moves use the non-dominated options (`pareto_options`). Unlike the
/// original it measures the marginal cost of the whole plan, so a move onto an existing stem is
/// cheap, and ranks by gain rather than by remaining error. For `objective::min` the climbed score
/// is (N + 1) x min F1 + sum of F1. Throws `stemshare::error` if the budget is below the cheapest plan.
[[nodiscard]] constexpr plan greedy(const problem& p, double budget, objective obj = objective::mean) {
    require_feasible_budget(p, budget);
    const std::size_t n = p.num_apps();
    const std::size_t grid = p.fps_grid().size();
    const std::size_t levels = p.levels().size();
    std::vector<std::vector<const option*>> candidates(n);
    std::vector<std::vector<const option*>> by_level_fps(n,
                                                         std::vector<const option*>(levels * grid, nullptr));
    std::vector<const option*> cheapest(n);
    for (std::size_t i = 0; i < n; ++i) {
        candidates[i] = pareto_options(p, i);
        for (const option& o : p.options(i))
            by_level_fps[i][static_cast<std::size_t>(o.level) * grid +
                            static_cast<std::size_t>(o.fps_index)] = &o;
        const option* start = &p.options(i).front();
        for (const option& o : p.options(i))
            if (o.fps_index == 0 && o.level > start->level) start = &o;
        cheapest[i] = start;
    }
    const auto finish = [&](std::vector<const option*>& start) {
        detail::climb(p, budget, obj, candidates, by_level_fps, start);
        std::vector<cost_entry> choices;
        for (const option* o : start) choices.push_back({o->num_frozen, o->fps});
        return evaluate(p, choices, budget);
    };
    plan from_cheapest = finish(cheapest);
    const plan original = mainstream_greedy(p, budget);
    std::vector<const option*> from_original(n);
    for (std::size_t i = 0; i < n; ++i)
        for (const option& o : p.options(i))
            if (o.num_frozen == original.apps[i].num_frozen && o.fps == original.apps[i].fps)
                from_original[i] = &o;
    plan improved = finish(from_original);
    return compare(improved, from_cheapest, obj) > 0 ? improved : from_cheapest;
}

}  // namespace stemshare::sched
