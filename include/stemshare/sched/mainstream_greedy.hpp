#pragma once
/// \file
/// The original Mainstream greedy scheduler, exactly as their experiments ran it (DESIGN.md
/// section 5). Kept for reproducing published numbers; `greedy` and `exact` plan better.

#include <cstddef>
#include <vector>

#include <stemshare/sched/plan.hpp>
#include <stemshare/sched/problem.hpp>
#include <stemshare/sched/stem_envelope.hpp>

namespace stemshare::sched {

/// One move the original greedy took, for tracing and tests.
struct greedy_move {
    std::size_t app = 0;    ///< index of the app that moved
    int num_frozen = 0;     ///< its new branch point
    double fps = 0.0;       ///< its new fps
    double ratio = 0.0;     ///< (1 - F1_new) / suffix_cost of the move
    double cost = 0.0;      ///< cost of the whole plan after the move

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
    stem_envelope envelope(p);
    for (;;) {
        envelope.reset(current);
        double best_ratio = 0.0;
        double best_cost = 0.0;
        std::size_t best_app = n;
        const option* best_option = nullptr;
        for (std::size_t i = 0; i < n; ++i) {
            envelope.focus(i);
            const double current_metric = 1.0 - current[i]->quality.f1;
            for (const option& o : p.options(i)) {
                if (&o == current[i]) continue;
                const double metric = 1.0 - o.quality.f1;
                const double ratio = metric / o.suffix_cost;
                if (!(metric < current_metric && ratio > best_ratio)) continue;
                const double cost = envelope.cost_with(o);
                if (cost <= budget + budget_tolerance) {
                    best_ratio = ratio;
                    best_cost = cost;
                    best_app = i;
                    best_option = &o;
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
