#pragma once
/// \file
/// The fair baseline: each camera inference R*w/C and training R*(1-w)/C, one fixed configuration.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>

#include <stemshare/core/error.hpp>
#include <stemshare/sched/ekya/scheduler.hpp>

namespace stemshare::sched::ekya {

/// Baseline of docs/ekya.md (w = 0.5 by default). Every camera that still has options retrains
/// with `config` (throws `stemshare::error` naming the camera if it has no such option); the shares
/// of cameras without a training job (their retraining finished) go equally to all remaining jobs,
/// the same rule the score uses when a job completes.
class fair_scheduler final : public scheduler {
public:
    explicit fair_scheduler(retrain_config config, double inference_weight = 0.5)
        : config_(config), weight_(inference_weight) {
        require(weight_ > 0 && weight_ <= 1, "fair scheduler", "inference weight must be in (0, 1]");
    }

    [[nodiscard]] std::string name() const override { return "fair"; }
    [[nodiscard]] allocation inference_shares(const window& w) const override {
        return equal_inference_shares(w);
    }

    [[nodiscard]] allocation allocate(const window& w) const override {
        validate(w);
        const std::size_t n = w.cameras.size();
        const double per_camera = w.box / static_cast<double>(n);
        allocation a(n);
        double spare = 0;
        std::size_t jobs = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const camera& c = w.cameras[i];
            a[i].inference = per_camera * weight_;
            ++jobs;
            if (c.options.empty() || weight_ == 1) {
                spare += per_camera * (1 - weight_);
                continue;
            }
            const auto it = std::find_if(c.options.begin(), c.options.end(),
                                         [&](const retrain_option& o) { return o.config == config_; });
            require(it != c.options.end(), "fair scheduler, camera '" + c.name + "'",
                    "has no option with configuration " + to_string(config_));
            const auto index = static_cast<std::size_t>(it - c.options.begin());
            require(!c.running || *c.running == index, "fair scheduler, camera '" + c.name + "'",
                    "is running another configuration");
            a[i].option = index;
            a[i].training = per_camera * (1 - weight_);
            ++jobs;
        }
        const double each = spare / static_cast<double>(jobs);
        for (camera_share& s : a) {
            s.inference += each;
            if (s.option) s.training += each;
        }
        return a;
    }

private:
    retrain_config config_;
    double weight_;
};

}  // namespace stemshare::sched::ekya
