#pragma once
/// \file
/// An app's curve (from its M-Package): per-frame detection rates for each branch point, and the
/// monotone smoothing the original Mainstream scheduler applies before any scheduling.
///
/// Names: Mainstream calls the two rates `a` and `b` (its apps file: `accuracy` and
/// `p_identified_inv`); stemshare calls them `true_positive_rate` and `false_positive_rate`
/// everywhere in C++, and keeps the file formats' keys.

#include <algorithm>
#include <cstddef>
#include <vector>

namespace stemshare::sched {

/// One candidate of an app: the model fine-tuned with `num_frozen` layers frozen (shared).
struct curve_point {
    int num_frozen = 0;                ///< branch point k: number of leading layers shared with the stem
    double true_positive_rate = 0.0;   ///< per-frame probability that an event frame is flagged
    double false_positive_rate = 0.0;  ///< per-frame probability that a non-event frame is flagged

    friend constexpr bool operator==(const curve_point&, const curve_point&) = default;
};

/// Returns `curve` sorted by `num_frozen`, then smoothed as the original does: walking k from the
/// largest candidate down, a point whose raw true-positive rate is strictly below the
/// already-smoothed one of the next larger k takes that neighbour's pair of rates. Freezing fewer layers
/// should never look worse than freezing more, since the less-frozen fine-tune could have matched it.
[[nodiscard]] constexpr std::vector<curve_point> smooth(std::vector<curve_point> curve) {
    std::sort(curve.begin(), curve.end(),
              [](const curve_point& x, const curve_point& y) { return x.num_frozen < y.num_frozen; });
    for (std::size_t i = curve.size(); i-- > 1;) {
        const curve_point& above = curve[i];
        curve_point& here = curve[i - 1];
        if (here.true_positive_rate < above.true_positive_rate) {
            here.true_positive_rate = above.true_positive_rate;
            here.false_positive_rate = above.false_positive_rate;
        }
    }
    return curve;
}

}  // namespace stemshare::sched
