#pragma once
/// \file
/// One retraining window (or what remains of it): the cameras, its length, the box's resources and
/// the scheduler's quantum.

#include <cmath>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/sched/ekya/camera.hpp>

namespace stemshare::sched::ekya {

/// What a scheduler allocates (docs/ekya.md). Shares are fractions of `box`, which is the
/// whole box (1.0) or the CPU-seconds per second available; they must sum to `box`.
struct window {
    std::vector<camera> cameras;
    double seconds = 200.0;   ///< T: length of the window (or the time left in it), > 0
    double box = 1.0;         ///< R: resources to split, > 0
    double quantum = 0.05;    ///< D: the thief's step, > 0 (Ekya: 0.1; 0.05 with few jobs)
    double step_seconds = 1.0; ///< the score's simulation step, > 0
};

namespace detail {
inline std::string num(double v) { return std::to_string(v); }
}  // namespace detail

/// Throws `stemshare::error` naming the field (and camera, option) unless `w` can be scheduled.
inline void validate(const window& w) {
    require(!w.cameras.empty(), "ekya window", "no cameras");
    const auto positive = [](double v) { return std::isfinite(v) && v > 0; };
    require(positive(w.seconds), "ekya window", "seconds must be positive, got " + detail::num(w.seconds));
    require(positive(w.box), "ekya window", "box must be positive, got " + detail::num(w.box));
    require(positive(w.quantum), "ekya window", "quantum must be positive, got " + detail::num(w.quantum));
    require(positive(w.step_seconds), "ekya window",
            "step_seconds must be positive, got " + detail::num(w.step_seconds));
    for (const camera& c : w.cameras) {
        const std::string where = "ekya camera '" + c.name + "'";
        require(std::isfinite(c.accuracy) && c.accuracy >= 0 && c.accuracy <= 1, where,
                "accuracy must be in [0, 1], got " + detail::num(c.accuracy));
        for (std::size_t i = 0; i < c.options.size(); ++i) {
            const retrain_option& o = c.options[i];
            const std::string at = where + " option " + std::to_string(i) + " (" + to_string(o.config) + ")";
            require(std::isfinite(o.predicted_accuracy) && o.predicted_accuracy >= 0 && o.predicted_accuracy <= 1,
                    at, "predicted_accuracy must be in [0, 1]");
            require(positive(o.seconds_per_epoch), at, "seconds_per_epoch must be positive");
            require(std::isfinite(o.startup_seconds) && o.startup_seconds >= 0, at, "startup_seconds must be >= 0");
            require(o.config.epochs > 0, at, "epochs must be positive");
            require(o.config.subsample > 0 && o.config.subsample <= 1, at, "subsample must be in (0, 1]");
        }
        require(!c.running || *c.running < c.options.size(), where, "running names no option");
        require(std::isfinite(c.work_done) && c.work_done >= 0, where, "work_done must be >= 0");
    }
}

}  // namespace stemshare::sched::ekya
