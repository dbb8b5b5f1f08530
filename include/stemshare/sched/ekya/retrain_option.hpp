#pragma once
/// \file
/// A retraining configuration with its micro-profiled estimates: the accuracy it should reach and
/// the work it needs.

#include <stemshare/sched/ekya/retrain_config.hpp>

namespace stemshare::sched::ekya {

/// What the micro-profiler predicts for one configuration of one camera (docs/ekya.md).
/// Times are seconds at a share of 1.0 (the whole box): a job at share a runs 1/a times longer.
struct retrain_option {
    retrain_config config;
    double predicted_accuracy = 0.0;  ///< accuracy on the window once retrained, in [0, 1]
    double seconds_per_epoch = 1.0;   ///< at share 1.0, > 0
    double startup_seconds = 0.0;     ///< at share 1.0, >= 0 (loading data, building the trainer)

    /// CPU-seconds (share 1.0 x wall seconds) the whole retraining needs.
    [[nodiscard]] double work() const noexcept { return config.epochs * seconds_per_epoch + startup_seconds; }
};

}  // namespace stemshare::sched::ekya
