#pragma once
/// \file
/// One camera in a retraining window: its current model's accuracy, its inference curve and the
/// retraining options the micro-profiler priced.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <stemshare/sched/ekya/inference_curve.hpp>
#include <stemshare/sched/ekya/retrain_option.hpp>

namespace stemshare::sched::ekya {

/// A camera as the schedulers see it. A camera whose retraining already finished this window has
/// `accuracy` set to the new model's and no `options`; one whose retraining is under way (a
/// re-allocation mid-window) names it in `running`, with the work it has already received.
struct camera {
    std::string name;
    double accuracy = 0.0;  ///< the current model's accuracy on this window, in [0, 1]
    inference_curve inference;
    std::vector<retrain_option> options;
    std::optional<std::size_t> running;  ///< index into `options` of the retraining under way
    double work_done = 0.0;              ///< CPU-seconds the running retraining has received
};

}  // namespace stemshare::sched::ekya
