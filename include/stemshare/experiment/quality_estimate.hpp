#pragma once
/// \file
/// What the scheduler's app-quality model (docs/scheduler.md, "Model") needs to know about a stream,
/// measured from it, and the model's two readings of it.
///
/// - **Event frequency e**: `evaluate_events` gives it (events / (events + non-event windows)).
/// - **Frame correlation c**: the model says that after an analysed event frame was missed, the
///   next one is missed with probability q = (1 - p) + p c, p the true-positive rate (c = 0:
///   independent frames, c = 1: an object missed once stays missed). `estimate_correlation` inverts that on
///   the stream: over every pair of consecutive frames inside one of the app's events, pooled over all of the
///   app's candidates (c describes the stream, not one model), with p the pooled per-frame hit
///   rate and q the share of misses followed by a miss, c = (q - (1 - p)) / p, clamped to [0, 1].
///   It is measured at stride 1; the model applies it at every stride (consecutive frames of an
///   event show the same object, so a miss is mostly the object's fault at any stride).
/// - The model as Mainstream ships it counts `L f^2 / (1000 F)` samples per event
///   (`sched::event_quality`, kept bit for bit); `sampled_event_quality` is the same formula fed
///   the `L f / 1000` samples an app at f fps really sees, to show which reading the measurement
///   supports.

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include <stemshare/experiment/predictions.hpp>
#include <stemshare/experiment/stream.hpp>
#include <stemshare/sched/app_quality.hpp>
#include <stemshare/sched/quality_model.hpp>

namespace stemshare::experiment {

struct correlation_estimate {
    double correlation = 0.0;
    /// Pooled per-frame hit rate inside events, and P(miss | previous frame missed).
    double hit_rate = 0.0;
    double miss_after_miss = 0.0;
    /// Consecutive in-event pairs whose first frame was a miss (the estimate's sample size).
    std::int64_t miss_pairs = 0;
};

/// The frame correlation of an app's events on a stream, from its candidates' per-frame
/// decisions (see the file comment). With no miss at all, frames look independent: c = 0.
[[nodiscard]] inline correlation_estimate estimate_correlation(const app_predictions& app,
                                                               std::span<const frame_interval> events) {
    std::int64_t frames = 0;
    std::int64_t hits = 0;
    std::int64_t misses = 0;
    std::int64_t miss_miss = 0;
    for (const auto& c : app.candidates)
        for (const auto& e : events)
            for (std::int64_t j = e.begin; j < e.end; ++j) {
                const bool hit = c.positive[static_cast<std::size_t>(j)];
                ++frames;
                hits += hit ? 1 : 0;
                if (j + 1 < e.end && !hit) {
                    ++misses;
                    miss_miss += c.positive[static_cast<std::size_t>(j + 1)] ? 0 : 1;
                }
            }
    correlation_estimate r;
    r.miss_pairs = misses;
    if (frames == 0 || hits == 0 || misses == 0) return r;
    r.hit_rate = static_cast<double>(hits) / static_cast<double>(frames);
    r.miss_after_miss = static_cast<double>(miss_miss) / static_cast<double>(misses);
    r.correlation = std::clamp((r.miss_after_miss - (1.0 - r.hit_rate)) / r.hit_rate, 0.0, 1.0);
    return r;
}

/// The model's formula with the samples an app at `fps` really takes from an event,
/// L f / 1000, instead of the original's L f^2 / (1000 F): `sched::sampled_event_quality`, the
/// `sampled` planning model.
[[nodiscard]] inline sched::app_quality sampled_event_quality(double true_positive_rate,
                                                              double false_positive_rate,
                                                              const sched::event_params& ev, double fps) {
    return sched::sampled_event_quality(true_positive_rate, false_positive_rate, ev, fps);
}

}  // namespace stemshare::experiment
