#pragma once
/// \file
/// The score of an allocation (docs/ekya.md): the window simulated in steps, mean over
/// cameras of the time-averaged inference accuracy.

#include <algorithm>
#include <cstddef>
#include <vector>

#include <stemshare/sched/ekya/allocation.hpp>
#include <stemshare/sched/ekya/window.hpp>

namespace stemshare::sched::ekya {

/// What the score saw for one camera: its time-averaged accuracy and when its retraining completed
/// (negative: it did not complete inside the window).
struct camera_estimate {
    double mean_accuracy = 0.0;
    double retrained_at = -1.0;
};

/// Simulates `w` under `a` and returns each camera's estimate. A camera's accuracy during a step is
/// base * inference.scale(inference share) with base the old accuracy until its retraining completes
/// and the option's predicted accuracy after. Retraining receives (step x training share) CPU-seconds
/// a step and completes once it has its option's work (less `work_done`). The share of a completed
/// job is split equally among the still-running retraining jobs and all inference jobs.
/// Does not validate; call `validate(a, w)` first for input from outside.
[[nodiscard]] inline std::vector<camera_estimate> simulate(const window& w, const allocation& a) {
    const std::size_t n = w.cameras.size();
    std::vector<double> inference(n), training(n), left(n), base(n), sum(n, 0.0);
    std::vector<bool> running(n, false);
    std::vector<camera_estimate> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        const camera& c = w.cameras[i];
        inference[i] = a[i].inference;
        training[i] = a[i].training;
        base[i] = c.accuracy;
        if (a[i].option) {
            running[i] = true;
            left[i] = c.options[*a[i].option].work() - (c.running ? c.work_done : 0.0);
        }
    }
    constexpr double eps = 1e-9;
    double t = 0;
    while (t < w.seconds - eps) {
        const double dt = std::min(w.step_seconds, w.seconds - t);
        for (std::size_t i = 0; i < n; ++i)
            sum[i] += dt * base[i] * w.cameras[i].inference.scale(inference[i]);
        double freed = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (!running[i]) continue;
            left[i] -= dt * training[i];
            if (left[i] <= eps) {
                running[i] = false;
                base[i] = w.cameras[i].options[*a[i].option].predicted_accuracy;
                out[i].retrained_at = t + dt;
                freed += training[i];
                training[i] = 0;
            }
        }
        t += dt;
        if (freed > 0) {
            std::size_t jobs = n;
            for (std::size_t i = 0; i < n; ++i) jobs += running[i] ? 1 : 0;
            const double each = freed / static_cast<double>(jobs);
            for (std::size_t i = 0; i < n; ++i) {
                inference[i] += each;
                if (running[i]) training[i] += each;
            }
        }
    }
    for (std::size_t i = 0; i < n; ++i) out[i].mean_accuracy = sum[i] / w.seconds;
    return out;
}

/// The score: mean over cameras of the time-averaged accuracy over the window.
[[nodiscard]] inline double score(const window& w, const allocation& a) {
    double total = 0;
    for (const camera_estimate& e : simulate(w, a)) total += e.mean_accuracy;
    return total / static_cast<double>(w.cameras.size());
}

}  // namespace stemshare::sched::ekya
