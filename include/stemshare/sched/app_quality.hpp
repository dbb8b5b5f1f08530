#pragma once
/// \file
/// The `mainstream` app-quality model (docs/scheduler.md, "Model"): event recall, precision and F1
/// of one app from its per-frame detection probabilities, its frame rate and its event statistics.
/// It reproduces the public Mainstream scheduler's numbers, quirks included (see `miss_probability`).

#include <cstdint>

#include <stemshare/sched/constexpr_math.hpp>

namespace stemshare::sched {

/// What the model needs to know about an app's events and the stream, besides its rates and fps.
struct event_params {
    double event_length_ms = 500.0;  ///< L: length of one event (and of one non-event window)
    double event_frequency = 0.2;    ///< e: fraction of windows that hold an event
    double correlation = 0.107;      ///< c: frame correlation inside one event
    double stream_fps = 15.0;        ///< F: frame rate of the stream
};

/// Predicted event-level quality of one app at one (branch point, fps).
struct app_quality {
    double recall = 0.0;     ///< probability that an event is detected
    double precision = 0.0;  ///< probability that a detection is a real event
    double f1 = 0.0;         ///< harmonic mean of recall and precision (0 when either is ~0)

    friend constexpr bool operator==(const app_quality&, const app_quality&) = default;
};

/// Probability that an event of `d` analysed frames is missed when each analysed frame detects it
/// with probability `p`, frames are `s` stream frames apart and consecutive misses are correlated
/// by `c`. The caller passes d = L/1000 * f and s = F/f; comparing and dividing d by s again is the
/// original's quirk (it sees L f^2 / (1000 F) samples per event) and is kept on purpose.
[[nodiscard]] constexpr double miss_probability(double p, double d, double s, double c) noexcept {
    if (d < s) return 1.0 - (d / s) * p;
    const double m = cmath::fmod(d, s);
    const double p1 = (s - m) / s;
    const double p2 = m / s;
    const double ratio = d / s;
    const auto r1 = static_cast<std::int64_t>(cmath::floor(ratio));
    const auto r2 = static_cast<std::int64_t>(cmath::ceil(ratio));
    const double q = (1.0 - p) + p * c;
    return p1 * (cmath::ipow(q, r1 - 1) * (1.0 - p)) + p2 * (cmath::ipow(q, r2 - 1) * (1.0 - p));
}

/// Event quality of an app that flags an analysed event frame with probability
/// `true_positive_rate` and a non-event frame with probability `false_positive_rate`, analysed at
/// `fps` frames per second.
[[nodiscard]] constexpr app_quality event_quality(double true_positive_rate, double false_positive_rate,
                                                  const event_params& ev, double fps) noexcept {
    const double s = ev.stream_fps / fps;
    const double d = ev.event_length_ms / 1000.0 * fps;
    app_quality q;
    q.recall = 1.0 - miss_probability(true_positive_rate, d, s, ev.correlation);
    const double fires = 1.0 - miss_probability(false_positive_rate, d, s, ev.correlation);
    const double e = ev.event_frequency;
    const double denominator = e * q.recall + (1.0 - e) * fires;
    // Nothing ever fires: the original defines precision as perfect rather than 0/0.
    q.precision = denominator == 0.0 ? 1.0 : e * q.recall / denominator;
    // The original's np.isclose(x, 0) test (absolute tolerance 1e-8).
    constexpr double near_zero = 1e-8;
    if (cmath::abs(q.recall) <= near_zero || cmath::abs(q.precision) <= near_zero) {
        q.f1 = 0.0;
    } else {
        q.f1 = 2.0 / (1.0 / q.recall + 1.0 / q.precision);
    }
    return q;
}

}  // namespace stemshare::sched
