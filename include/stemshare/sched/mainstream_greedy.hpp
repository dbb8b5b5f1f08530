#pragma once
/// \file
/// The original Mainstream greedy scheduler, exactly as their experiments ran it (docs/scheduler.md,
/// "Model"). Kept for reproducing published numbers; `greedy` and `exact` plan better.

#include <algorithm>
#include <cstddef>
#include <vector>

#include <stemshare/sched/plan.hpp>
#include <stemshare/sched/problem.hpp>
#include <stemshare/sched/stem_envelope.hpp>

namespace stemshare::sched {

/// One move the original greedy took, for tracing and tests.
struct greedy_move {
    std::size_t app = 0;  ///< index of the app that moved
    int num_frozen = 0;   ///< its new branch point
    double fps = 0.0;     ///< its new fps
    double ratio = 0.0;   ///< (1 - F1_new) / suffix_cost of the move
    double cost = 0.0;    ///< cost of the whole plan after the move

    friend constexpr bool operator==(const greedy_move&, const greedy_move&) = default;
};

/// Every app starts at its largest branch point and the grid's lowest fps (the start is not
/// checked against the budget: if it does not fit, it is returned with `feasible() == false`, as
/// the original did). Each round considers every move of one app to any other (k, fps) of its
/// grids; a move is eligible when that app's metric 1 - F1 strictly falls and the whole new plan
/// costs <= budget. The round takes the eligible move with the largest (1 - F1_new) / suffix_cost
/// (strictly larger than a running best that starts at 0; apps in order, fps ascending, k
/// ascending, so the first wins ties). It stops when no move is eligible. Always maximises mean F1.
/// If `trace` is given, every move taken is appended to it.
[[nodiscard]] constexpr plan mainstream_greedy(const problem& p, double budget,
                                               std::vector<greedy_move>* trace = nullptr) {
    validate_budget(budget);  // an infeasible one is the original's business (see above), NaN is not
    const std::size_t n = p.num_apps();
    std::vector<const option*> current(n);
    for (std::size_t i = 0; i < n; ++i) {
        // options() runs fps ascending then k ascending: the largest k at the lowest fps is the
        // last option of the first fps block.
        const std::vector<option>& opts = p.options(i);
        const option* start = &opts.front();
        for (const option& o : opts)
            if (o.fps_index == 0) start = &o;
        current[i] = start;
    }
    // A move's rank depends only on the target option, so each app's options are sorted once by
    // ratio (descending; the original's iteration order breaks ties). A round then scans an app
    // only while its ratios can still beat the best found so far, and stops at its first
    // eligible option: that is the option the original's full scan would keep for this app.
    std::vector<std::vector<std::size_t>> order(n);
    std::vector<std::vector<double>> ratios(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::vector<option>& opts = p.options(i);
        for (const option& o : opts) ratios[i].push_back((1.0 - o.quality.f1) / o.suffix_cost);
        for (std::size_t c = 0; c < opts.size(); ++c)
            if (ratios[i][c] > 0.0) order[i].push_back(c);  // ratio 0 or NaN never beats the start of 0
        std::sort(order[i].begin(), order[i].end(), [&](std::size_t x, std::size_t y) {
            return ratios[i][x] > ratios[i][y] || (ratios[i][x] == ratios[i][y] && x < y);
        });
    }
    stem_envelope envelope(p);
    for (;;) {
        envelope.reset(current);
        double best_ratio = 0.0;
        double best_cost = 0.0;
        std::size_t best_app = n;
        const option* best_option = nullptr;
        for (std::size_t i = 0; i < n; ++i) {
            const double current_metric = 1.0 - current[i]->quality.f1;
            bool focused = false;
            for (std::size_t c : order[i]) {
                if (!(ratios[i][c] > best_ratio)) break;
                const option& o = p.options(i)[c];
                if (&o == current[i] || !(1.0 - o.quality.f1 < current_metric)) continue;
                if (!focused) {
                    envelope.focus(i);
                    focused = true;
                }
                const double cost = envelope.cost_with(o);
                if (cost <= budget + budget_tolerance) {
                    best_ratio = ratios[i][c];
                    best_cost = cost;
                    best_app = i;
                    best_option = &o;
                    break;
                }
            }
        }
        if (best_option == nullptr) break;
        current[best_app] = best_option;
        if (trace != nullptr)
            trace->push_back({best_app, best_option->num_frozen, best_option->fps, best_ratio, best_cost});
    }
    std::vector<cost_entry> choices;
    for (const option* o : current) choices.push_back({o->num_frozen, o->fps});
    return evaluate(p, choices, budget);
}

}  // namespace stemshare::sched
