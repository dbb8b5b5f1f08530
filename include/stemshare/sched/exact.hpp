#pragma once
/// \file
/// The exact planner: the true optimum of the objective within the budget.
///
/// Plans decompose over the stem: write the cost as the apps' own suffixes plus, for each branch
/// point K_j, prefix_latency(K_j) x (rise of the max fps among apps at k >= K_j). Walking branch
/// points from the top down, the future cost of a partial plan then depends only on which apps
/// are placed (a bit mask) and the max fps so far (h). The dynamic program keeps, per (mask, h),
/// the Pareto front of (cost so far, objective so far); a point dominated in its own state can
/// never complete to a better plan, so no optimum is lost. Points over budget, or whose
/// objective plus an optimistic bound for the unplaced apps falls below a known plan (`greedy`),
/// are dropped. `pareto_options` removes candidates that are dominated in every plan.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/sched/greedy.hpp>
#include <stemshare/sched/pareto_options.hpp>
#include <stemshare/sched/plan.hpp>
#include <stemshare/sched/problem.hpp>

namespace stemshare::sched {

/// Largest number of apps `exact` accepts (its state space is 2^N x fps grid).
inline constexpr std::size_t exact_max_apps = 16;

namespace detail {

struct dp_point {
    double cost;
    double value;
    std::int32_t node;
};

struct dp_node {
    std::int32_t parent;
    std::int32_t app;
    std::int32_t choice;  // index into the app's candidate list
};

/// Runs the DP over `candidates` (per app, options allowed) scoring option c of app i as
/// values[i][c]. Returns every complete plan whose value is within `objective_tolerance` of the
/// best, as candidate indices per app (empty when no plan fits the budget).
[[nodiscard]] constexpr std::vector<std::vector<std::size_t>> exact_dp(
    const problem& p, const std::vector<std::vector<const option*>>& candidates,
    const std::vector<std::vector<double>>& values, double budget, double known_value) {
    constexpr double neg_inf = -std::numeric_limits<double>::infinity();
    const std::size_t n = p.num_apps();
    const std::size_t m = p.levels().size();
    const std::size_t h_count = p.fps_grid().size() + 1;  // h = 0: no app placed yet
    const std::size_t masks = std::size_t{1} << n;
    const std::size_t full = masks - 1;
    const double limit = budget + budget_tolerance;

    std::vector<double> env_fps(h_count, 0.0);
    for (std::size_t h = 1; h < h_count; ++h) env_fps[h] = p.fps_grid()[h - 1];

    // by_level[i][j]: candidate indices of app i at level j; best_at_or_below[i][j]: the best value
    // app i can still reach once only levels <= j remain.
    std::vector<std::vector<std::vector<std::size_t>>> by_level(n, std::vector<std::vector<std::size_t>>(m));
    std::vector<std::vector<double>> best_at_or_below(n, std::vector<double>(m, neg_inf));
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t c = 0; c < candidates[i].size(); ++c) {
            const auto j = static_cast<std::size_t>(candidates[i][c]->level);
            by_level[i][j].push_back(c);
            best_at_or_below[i][j] = std::max(best_at_or_below[i][j], values[i][c]);
        }
        for (std::size_t j = 1; j < m; ++j)
            best_at_or_below[i][j] = std::max(best_at_or_below[i][j], best_at_or_below[i][j - 1]);
    }

    std::vector<std::vector<dp_point>> fronts(masks * h_count);
    std::vector<dp_node> nodes;
    fronts[0].push_back({0.0, 0.0, -1});
    std::vector<dp_point> shifted, merged;
    std::vector<std::int32_t> pending_parent;

    for (std::size_t j = m; j-- > 0;) {
        for (std::size_t i = 0; i < n; ++i) {
            if (by_level[i][j].empty()) continue;
            const std::size_t bit = std::size_t{1} << i;
            for (std::size_t mask = 0; mask < masks; ++mask) {
                if ((mask & bit) != 0) continue;
                const std::size_t next = mask | bit;
                // Optimistic value of the apps still unplaced after this step.
                double bound = 0.0;
                for (std::size_t a = 0; a < n && bound != neg_inf; ++a)
                    if ((next & (std::size_t{1} << a)) == 0) bound += best_at_or_below[a][j];
                if (bound == neg_inf) continue;
                for (std::size_t h = 0; h < h_count; ++h) {
                    const std::vector<dp_point>& src = fronts[mask * h_count + h];
                    if (src.empty()) continue;
                    for (std::size_t c : by_level[i][j]) {
                        const option& o = *candidates[i][c];
                        const std::size_t h2 = std::max(h, static_cast<std::size_t>(o.fps_index) + 1);
                        const double add = o.suffix_cost + p.level_prefix(j) * (env_fps[h2] - env_fps[h]);
                        const double v = values[i][c];
                        shifted.clear();
                        for (const dp_point& pt : src) {
                            const double cost = pt.cost + add;
                            if (cost > limit) break;  // fronts are sorted by cost
                            const double value = pt.value + v;
                            if (value + bound < known_value - objective_tolerance) continue;
                            // Parent node and choice are recorded once the point survives the merge.
                            shifted.push_back({cost, value, pt.node});
                        }
                        if (shifted.empty()) continue;
                        std::vector<dp_point>& dst = fronts[next * h_count + h2];
                        merged.clear();
                        std::size_t a = 0, b = 0;
                        double last = neg_inf;
                        while (a < dst.size() || b < shifted.size()) {
                            const bool take_new =
                                a == dst.size() ||
                                (b < shifted.size() &&
                                 (shifted[b].cost < dst[a].cost ||
                                  (shifted[b].cost == dst[a].cost && shifted[b].value > dst[a].value)));
                            dp_point pt = take_new ? shifted[b++] : dst[a++];
                            if (!(pt.value > last)) continue;
                            last = pt.value;
                            if (take_new) {
                                nodes.push_back(
                                    {pt.node, static_cast<std::int32_t>(i), static_cast<std::int32_t>(c)});
                                pt.node = static_cast<std::int32_t>(nodes.size() - 1);
                            }
                            merged.push_back(pt);
                        }
                        dst.swap(merged);
                    }
                }
            }
        }
    }

    double best = neg_inf;
    for (std::size_t h = 0; h < h_count; ++h)
        for (const dp_point& pt : fronts[full * h_count + h]) best = std::max(best, pt.value);
    std::vector<std::vector<std::size_t>> finalists;
    if (best == neg_inf) return finalists;
    for (std::size_t h = 0; h < h_count; ++h) {
        for (const dp_point& pt : fronts[full * h_count + h]) {
            if (pt.value < best - objective_tolerance) continue;
            std::vector<std::size_t> choice(n, 0);
            for (std::int32_t k = pt.node; k >= 0; k = nodes[static_cast<std::size_t>(k)].parent) {
                const dp_node& nd = nodes[static_cast<std::size_t>(k)];
                choice[static_cast<std::size_t>(nd.app)] = static_cast<std::size_t>(nd.choice);
            }
            finalists.push_back(choice);
        }
    }
    return finalists;
}

[[nodiscard]] constexpr plan plan_from(const problem& p,
                                       const std::vector<std::vector<const option*>>& candidates,
                                       const std::vector<std::size_t>& choice, double budget) {
    std::vector<cost_entry> entries;
    for (std::size_t i = 0; i < choice.size(); ++i)
        entries.push_back({candidates[i][choice[i]]->num_frozen, candidates[i][choice[i]]->fps});
    return evaluate(p, entries, budget);
}

}  // namespace detail

/// The optimal plan under `obj` within `budget`: for `mean`, the largest sum of F1 (ties: larger
/// min F1 among plans of equal cost, then lower cost); for `weighted`, the same with weight x F1;
/// for `min`, the largest min F1, then the largest sum, then the lowest cost (found as the largest
/// threshold t for which a plan with every F1 >= t fits, then the best sum over options >= t).
/// Throws `stemshare::error` if the budget is below the cheapest plan or there are more than
/// `exact_max_apps` apps.
[[nodiscard]] constexpr plan exact(const problem& p, double budget, objective obj = objective::mean) {
    require_feasible_budget(p, budget);
    const std::size_t n = p.num_apps();
    if (n > exact_max_apps)
        throw error("exact", "supports at most " + std::to_string(exact_max_apps) + " apps, got " +
                                 std::to_string(n) + " (use greedy)");
    constexpr double neg_inf = -std::numeric_limits<double>::infinity();
    std::vector<std::vector<const option*>> candidates(n);
    for (std::size_t i = 0; i < n; ++i) candidates[i] = pareto_options(p, i);

    const auto scores = [&](const std::vector<std::vector<const option*>>& cands, bool zero) {
        std::vector<std::vector<double>> v(n);
        for (std::size_t i = 0; i < n; ++i)
            for (const option* o : cands[i])
                v[i].push_back(zero ? 0.0
                                    : (obj == objective::weighted ? p.app(i).weight : 1.0) * o->quality.f1);
        return v;
    };

    std::vector<std::vector<const option*>> allowed = candidates;
    double known = neg_inf;
    if (obj == objective::min) {
        std::vector<double> thresholds;
        for (const auto& cs : candidates)
            for (const option* o : cs) thresholds.push_back(o->quality.f1);
        std::sort(thresholds.begin(), thresholds.end());
        thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());
        const auto restrict_to = [&](double t) {
            std::vector<std::vector<const option*>> r(n);
            for (std::size_t i = 0; i < n; ++i)
                for (const option* o : candidates[i])
                    if (o->quality.f1 >= t) r[i].push_back(o);
            return r;
        };
        // The lowest threshold keeps every option, and the cheapest plan fits.
        std::size_t lo = 0, hi = thresholds.size() - 1;
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo + 1) / 2;
            const auto r = restrict_to(thresholds[mid]);
            bool usable = true;
            for (const auto& cs : r) usable = usable && !cs.empty();
            if (usable && !detail::exact_dp(p, r, scores(r, true), budget, neg_inf).empty())
                lo = mid;
            else
                hi = mid - 1;
        }
        allowed = restrict_to(thresholds[lo]);
    } else {
        const plan incumbent = greedy(p, budget, obj);
        known = obj == objective::weighted ? incumbent.weighted_f1 : incumbent.sum_f1;
    }

    const auto finalists = detail::exact_dp(p, allowed, scores(allowed, false), budget, known);
    if (finalists.empty()) throw error("exact", "no plan fits the budget");  // unreachable: guarded above
    plan best = detail::plan_from(p, allowed, finalists.front(), budget);
    for (std::size_t f = 1; f < finalists.size(); ++f) {
        plan candidate = detail::plan_from(p, allowed, finalists[f], budget);
        if (compare(candidate, best, obj) > 0) best = std::move(candidate);
    }
    return best;
}

}  // namespace stemshare::sched
