#pragma once
/// \file
/// An app's accuracy curve (its M-Package): per-frame detection probabilities for each branch
/// point, and the monotone smoothing the original applies before any scheduling.

#include <algorithm>
#include <cstddef>
#include <vector>

namespace stemshare::sched {

/// One candidate of an app: the model fine-tuned with `num_frozen` layers frozen (shared).
struct curve_point {
    int num_frozen = 0;             ///< k: number of leading layers shared with the stem
    double accuracy = 0.0;          ///< a: per-frame probability that an event frame is detected
    double p_identified_inv = 0.0;  ///< b: per-frame probability that a non-event frame is flagged

    friend constexpr bool operator==(const curve_point&, const curve_point&) = default;
};

/// Returns `curve` sorted by `num_frozen`, then smoothed as the original does: walking k from the
/// largest candidate down, a point whose raw accuracy is strictly below the already-smoothed
/// accuracy of the next larger k takes that neighbour's (a, b) pair. Freezing fewer layers should
/// never look worse than freezing more, since the less-frozen fine-tune could have matched it.
[[nodiscard]] constexpr std::vector<curve_point> smooth(std::vector<curve_point> curve) {
    std::sort(curve.begin(), curve.end(),
              [](const curve_point& x, const curve_point& y) { return x.num_frozen < y.num_frozen; });
    for (std::size_t i = curve.size(); i-- > 1;) {
        const curve_point& above = curve[i];
        curve_point& here = curve[i - 1];
        if (here.accuracy < above.accuracy) {
            here.accuracy = above.accuracy;
            here.p_identified_inv = above.p_identified_inv;
        }
    }
    return curve;
}

}  // namespace stemshare::sched
