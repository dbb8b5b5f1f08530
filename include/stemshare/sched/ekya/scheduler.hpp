#pragma once
/// \file
/// The extension point (docs/ekya.md): a retraining scheduler is an object with two calls.

#include <string>

#include <stemshare/sched/ekya/allocation.hpp>
#include <stemshare/sched/ekya/window.hpp>

namespace stemshare::sched::ekya {

/// Derive from this to plug in a scheduler. The runner calls `inference_shares` at the start of a
/// window, while the micro-profiler runs (no options are priced yet), and `allocate` once the
/// options are priced and again whenever a job completes, with the window's remaining time and the
/// cameras' state then (a finished camera has its new accuracy and no options; a running one names
/// its option and the work it received). Both must return an allocation that passes `validate`.
class scheduler {
public:
    virtual ~scheduler() = default;
    /// Name used in reports.
    [[nodiscard]] virtual std::string name() const = 0;
    /// Inference-only shares (every training share 0, no options); must be fast.
    [[nodiscard]] virtual allocation inference_shares(const window& w) const = 0;
    /// Shares and options for (the rest of) the window.
    [[nodiscard]] virtual allocation allocate(const window& w) const = 0;
};

/// Equal inference shares, nothing for training: what every built-in scheduler uses while the
/// micro-profiler runs.
[[nodiscard]] inline allocation equal_inference_shares(const window& w) {
    validate(w);
    const double each = w.box / static_cast<double>(w.cameras.size());
    return allocation(w.cameras.size(), camera_share{each, 0.0, std::nullopt});
}

}  // namespace stemshare::sched::ekya
