#pragma once
/// \file
/// Event-level recall, precision and F1 of one app from its per-frame decisions, with the
/// definitions of the scheduler's app-quality model (docs/scheduler.md, "Model") made concrete:
///
/// - **Detected event**: an event (a run of frames with the app's target in view) counts as
///   detected when at least one frame inside it was *processed* and flagged positive. Frames the
///   app skipped (its frame rate) or lost (the box was busy) count as not flagged.
/// - **Non-event windows**: every maximal run of frames outside the app's events is cut into
///   consecutive windows of `window_frames` frames (the event length); a shorter remainder joins
///   the window before it, and a run shorter than one window is one window. So every non-event
///   frame lies in exactly one window, and windows have the events' length, as in the model.
/// - **False positive**: a non-event window in which at least one processed frame was flagged.
/// - recall R = detected / events; precision P = detected / (detected + false positives), and
///   P = 1 when nothing was flagged at all; F1 = 2PR / (P + R), and F1 = 0 when R or P is
///   at most 1e-8 (the model's convention).
/// - The measured event frequency e = events / (events + non-event windows) is the `e` the
///   app-quality model needs to predict this F1.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/stream.hpp>

namespace stemshare::experiment {

/// What an app did with one frame.
enum class frame_decision : std::int8_t {
    not_processed = -1,  ///< skipped (frame rate) or dropped (box busy)
    negative = 0,
    positive = 1,
};

struct event_scores {
    std::int64_t events = 0;
    std::int64_t detected = 0;
    std::int64_t windows = 0;
    std::int64_t false_positive_windows = 0;
    double recall = 0.0;
    double precision = 1.0;
    double f1 = 0.0;
    /// events / (events + windows).
    double event_frequency = 0.0;
    /// Over processed frames: P(positive | target present) and P(positive | absent).
    double true_positive_rate = 0.0;
    double false_positive_rate = 0.0;
    std::int64_t processed_frames = 0;
};

/// The non-event windows of a stream of `frames` frames whose events are `events` (sorted,
/// disjoint), as defined above.
[[nodiscard]] inline std::vector<frame_interval> non_event_windows(std::span<const frame_interval> events,
                                                                   std::int64_t frames,
                                                                   std::int64_t window_frames) {
    if (window_frames <= 0) throw error("experiment::non_event_windows", "window_frames must be positive");
    std::vector<frame_interval> out;
    const auto cut = [&](std::int64_t begin, std::int64_t end) {
        if (end <= begin) return;
        const std::int64_t count = std::max<std::int64_t>(1, (end - begin) / window_frames);
        for (std::int64_t i = 0; i < count; ++i)
            out.push_back(
                {begin + i * window_frames, i + 1 == count ? end : begin + (i + 1) * window_frames});
    };
    std::int64_t at = 0;
    for (const auto& e : events) {
        if (e.begin < at || e.end <= e.begin || e.end > frames)
            throw error("experiment::non_event_windows",
                        "events must be sorted, disjoint, non-empty and inside the "
                        "stream; event [" +
                            std::to_string(e.begin) + ", " + std::to_string(e.end) + ") is not");
        cut(at, e.begin);
        at = e.end;
    }
    cut(at, frames);
    return out;
}

/// Scores one app. `decisions` has one entry per stream frame; `events` are the app's events.
[[nodiscard]] inline event_scores evaluate_events(std::span<const frame_decision> decisions,
                                                  std::span<const frame_interval> events,
                                                  std::int64_t window_frames) {
    const auto frames = static_cast<std::int64_t>(decisions.size());
    const auto windows = non_event_windows(events, frames, window_frames);
    const auto flagged = [&](const frame_interval& r) {
        for (std::int64_t f = r.begin; f < r.end; ++f)
            if (decisions[static_cast<std::size_t>(f)] == frame_decision::positive) return true;
        return false;
    };
    event_scores s;
    s.events = static_cast<std::int64_t>(events.size());
    s.windows = static_cast<std::int64_t>(windows.size());
    for (const auto& e : events) s.detected += flagged(e) ? 1 : 0;
    for (const auto& w : windows) s.false_positive_windows += flagged(w) ? 1 : 0;
    s.recall = s.events > 0 ? static_cast<double>(s.detected) / static_cast<double>(s.events) : 0.0;
    const std::int64_t fired = s.detected + s.false_positive_windows;
    s.precision = fired > 0 ? static_cast<double>(s.detected) / static_cast<double>(fired) : 1.0;
    s.f1 = (s.recall <= 1e-8 || s.precision <= 1e-8) ? 0.0 : 2.0 / (1.0 / s.recall + 1.0 / s.precision);
    s.event_frequency = s.events + s.windows > 0
                            ? static_cast<double>(s.events) / static_cast<double>(s.events + s.windows)
                            : 0.0;
    std::vector<bool> inside(static_cast<std::size_t>(frames), false);
    for (const auto& e : events)
        for (std::int64_t f = e.begin; f < e.end; ++f) inside[static_cast<std::size_t>(f)] = true;
    std::int64_t pos = 0;
    std::int64_t pos_hit = 0;
    std::int64_t neg = 0;
    std::int64_t neg_hit = 0;
    for (std::int64_t f = 0; f < frames; ++f) {
        const frame_decision d = decisions[static_cast<std::size_t>(f)];
        if (d == frame_decision::not_processed) continue;
        ++s.processed_frames;
        const bool hit = d == frame_decision::positive;
        if (inside[static_cast<std::size_t>(f)]) {
            ++pos;
            pos_hit += hit ? 1 : 0;
        } else {
            ++neg;
            neg_hit += hit ? 1 : 0;
        }
    }
    s.true_positive_rate = pos > 0 ? static_cast<double>(pos_hit) / static_cast<double>(pos) : 0.0;
    s.false_positive_rate = neg > 0 ? static_cast<double>(neg_hit) / static_cast<double>(neg) : 0.0;
    return s;
}

}  // namespace stemshare::experiment
