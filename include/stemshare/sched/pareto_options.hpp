#pragma once
/// \file
/// Per-app candidate pruning shared by `greedy` and `exact`.

#include <cstddef>
#include <vector>

#include <stemshare/sched/problem.hpp>

namespace stemshare::sched {

/// The options of app i that no other option of the same app dominates. Option o' dominates o
/// when k' >= k, fps' <= fps and F1' >= F1: moving an app to a larger k at the same fps, or to a
/// lower fps, never raises any plan's cost (the layers it gives up become shared at a rate no
/// higher than before), so o' is at least as good in every plan and every objective. Smoothing
/// makes long runs of equal F1 along k, so this removes most candidates. Order of `options(i)` kept.
[[nodiscard]] constexpr std::vector<const option*> pareto_options(const problem& p, std::size_t i) {
    const std::vector<option>& opts = p.options(i);
    std::vector<const option*> kept;
    for (const option& o : opts) {
        bool dominated = false;
        for (const option& d : opts) {
            if (&d == &o) continue;
            if (d.level >= o.level && d.fps_index <= o.fps_index && d.quality.f1 >= o.quality.f1) {
                dominated = true;
                break;
            }
        }
        if (!dominated) kept.push_back(&o);
    }
    return kept;
}

}  // namespace stemshare::sched
