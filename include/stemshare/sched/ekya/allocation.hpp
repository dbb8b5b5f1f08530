#pragma once
/// \file
/// A scheduler's answer for a window: each camera's inference share, training share and chosen
/// retraining option.

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/sched/ekya/window.hpp>

namespace stemshare::sched::ekya {

/// One camera's part of an allocation. `option` indexes the camera's `options`; no option means
/// the camera does not retrain (and its training share is 0).
struct camera_share {
    double inference = 0.0;
    double training = 0.0;
    std::optional<std::size_t> option;
};

/// Shares of every camera of a window, in the window's camera order.
using allocation = std::vector<camera_share>;

/// Sum of every share in `a`.
[[nodiscard]] inline double total_share(const allocation& a) noexcept {
    double sum = 0;
    for (const camera_share& s : a) sum += s.inference + s.training;
    return sum;
}

/// Throws `stemshare::error` naming the camera and field unless `a` fits `w`: one entry per camera,
/// shares finite and >= 0, options valid, a training share only with an option, and shares summing
/// to the box (within 1e-6).
inline void validate(const allocation& a, const window& w) {
    require(a.size() == w.cameras.size(), "ekya allocation",
            std::to_string(a.size()) + " entries for " + std::to_string(w.cameras.size()) + " cameras");
    for (std::size_t i = 0; i < a.size(); ++i) {
        const camera& c = w.cameras[i];
        const std::string where = "ekya allocation, camera '" + c.name + "'";
        require(std::isfinite(a[i].inference) && a[i].inference >= 0, where, "inference share must be >= 0");
        require(std::isfinite(a[i].training) && a[i].training >= 0, where, "training share must be >= 0");
        require(!a[i].option || *a[i].option < c.options.size(), where, "option names no retraining option");
        require(a[i].option || a[i].training == 0, where, "training share without a retraining option");
        require(!c.running || !a[i].option || *a[i].option == *c.running, where,
                "option differs from the retraining already running");
    }
    const double sum = total_share(a);
    require(std::abs(sum - w.box) <= 1e-6, "ekya allocation",
            "shares sum to " + std::to_string(sum) + " but the box is " + std::to_string(w.box));
}

}  // namespace stemshare::sched::ekya
