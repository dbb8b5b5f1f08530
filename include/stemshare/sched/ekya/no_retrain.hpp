#pragma once
/// \file
/// The no-retrain baseline: every camera infers at R/C and never retrains.

#include <string>

#include <stemshare/sched/ekya/scheduler.hpp>

namespace stemshare::sched::ekya {

/// Baseline of docs/ekya.md: inference R/C per camera, no training.
class no_retrain_scheduler final : public scheduler {
public:
    [[nodiscard]] std::string name() const override { return "no-retrain"; }
    [[nodiscard]] allocation inference_shares(const window& w) const override {
        return equal_inference_shares(w);
    }
    [[nodiscard]] allocation allocate(const window& w) const override { return equal_inference_shares(w); }
};

}  // namespace stemshare::sched::ekya
