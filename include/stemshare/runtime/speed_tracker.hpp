#pragma once
/// \file
/// `runtime::speed_tracker`: how fast the box runs now against the frame cost model a plan was
/// made with, window by window of stream, and when that has moved far enough to re-plan.
///
/// A plan is feasible on the box the cost model describes. A real box drifts: this project's
/// 2-core VM runs the same frames 20-25% slower for stretches of ten seconds and more, with
/// nothing in the guest to show for it (docs/experiment.md, "The box's speed drifts"); edge boxes
/// throttle when hot and share their cores. No table measured once stays within 10% of such a
/// box. The tracker sums, per window of stream time, the measured executor time of the processed
/// frames and the cost model's time of the same frames (at speed 1), and reports their ratio as
/// the box's speed when it differs from the speed in use by more than the tolerance; the caller
/// scales its cost model by it and re-plans (`stemshare run`).

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>

namespace stemshare::runtime {

struct speed_tracker_options {
    /// Seconds of stream per window.
    double window_seconds = 10.0;
    /// A window's speed replaces the one in use when |window / in use - 1| exceeds this. 0: never
    /// (the tracker only measures).
    double tolerance = 0.1;
    /// Windows with fewer processed frames are measured but never change the speed.
    std::size_t min_frames = 5;
};

class speed_tracker {
public:
    /// Throws `stemshare::error` for a window that is not positive or a negative tolerance.
    explicit speed_tracker(const speed_tracker_options& o = {}) : o_(o) {
        if (!(o.window_seconds > 0.0) || !std::isfinite(o.window_seconds))
            throw error("runtime::speed_tracker: window_seconds",
                        "must be positive, got " + std::to_string(o.window_seconds));
        if (!(o.tolerance >= 0.0) || !std::isfinite(o.tolerance))
            throw error("runtime::speed_tracker: tolerance",
                        "must be 0 or positive, got " + std::to_string(o.tolerance));
    }

    /// One processed frame that arrived at `stream_seconds` (non-decreasing from call to call),
    /// took `executor_seconds`, and costs `model_seconds` by the cost model at speed 1. Returns
    /// the new speed when the frame closes a window that moves it (the frame itself counts in
    /// the next window).
    std::optional<double> add(double stream_seconds, double executor_seconds, double model_seconds) {
        std::optional<double> moved;
        if (stream_seconds >= window_start_ + o_.window_seconds) {
            moved = close_window();
            // Windows with no frame at all are skipped, not recorded.
            window_start_ +=
                o_.window_seconds * std::floor((stream_seconds - window_start_) / o_.window_seconds);
        }
        executor_ += executor_seconds;
        model_ += model_seconds;
        ++frames_;
        return moved;
    }

    /// Ends the open window at the end of the stream: measured into `windows()` when it holds a
    /// frame, never moving the speed (a stream's last window is usually partial).
    void finish() { (void)close_window(false); }

    /// The speed in use: executor time / cost-model time (1: as the model; 1.2: 20% slower).
    [[nodiscard]] double speed() const noexcept { return speed_; }
    /// Every closed (or finished) window's executor / model time, in stream order.
    [[nodiscard]] const std::vector<double>& windows() const noexcept { return windows_; }
    /// How many times the speed moved.
    [[nodiscard]] std::size_t changes() const noexcept { return changes_; }

private:
    /// Records the open window and starts the next; returns the new speed when `may_move` and the
    /// window moves it.
    std::optional<double> close_window(bool may_move = true) {
        std::optional<double> moved;
        if (frames_ > 0 && model_ > 0.0) {
            const double ratio = executor_ / model_;
            windows_.push_back(ratio);
            // A ratio of 0 (frames that took no measurable time) says nothing about the box.
            if (may_move && o_.tolerance > 0.0 && frames_ >= o_.min_frames && ratio > 0.0 &&
                std::isfinite(ratio) && std::abs(ratio / speed_ - 1.0) > o_.tolerance) {
                speed_ = ratio;
                ++changes_;
                moved = ratio;
            }
        }
        executor_ = 0.0;
        model_ = 0.0;
        frames_ = 0;
        return moved;
    }

    speed_tracker_options o_;
    double speed_ = 1.0;
    double window_start_ = 0.0;
    double executor_ = 0.0;
    double model_ = 0.0;
    std::size_t frames_ = 0;
    std::size_t changes_ = 0;
    std::vector<double> windows_;
};

}  // namespace stemshare::runtime
