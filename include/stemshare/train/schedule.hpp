#pragma once
/// \file
/// `train::lr_schedule`: the learning rate of each SGD step, as a fraction of the base rate.

#include <cmath>
#include <cstdint>
#include <string>

#include <stemshare/core/error.hpp>

namespace stemshare::train {

enum class schedule_kind : std::uint8_t {
    /// The base rate throughout.
    constant,
    /// Multiplied by `gamma` every `step_size` steps (PyTorch's StepLR, counted in steps).
    step,
    /// Annealed from the base rate to zero along a half cosine over the run (CosineAnnealingLR
    /// with eta_min = 0 and T_max = the run's steps).
    cosine,
};

struct lr_schedule {
    schedule_kind kind = schedule_kind::cosine;
    std::int64_t step_size = 1000;
    double gamma = 0.1;

    /// The rate of step `step` (from 0) of a run of `total_steps`.
    [[nodiscard]] double rate(double base, std::int64_t step, std::int64_t total_steps) const {
        switch (kind) {
            case schedule_kind::constant:
                return base;
            case schedule_kind::step:
                if (step_size <= 0) throw error("train::lr_schedule", "step_size must be positive");
                return base * std::pow(gamma, static_cast<double>(step / step_size));
            case schedule_kind::cosine:
                return base * 0.5 *
                       (1.0 + std::cos(3.141592653589793 * static_cast<double>(step) /
                                       static_cast<double>(total_steps > 0 ? total_steps : 1)));
        }
        return base;
    }
};

}  // namespace stemshare::train
