#pragma once
/// \file
/// Ekya's thief scheduler, as docs/ekya.md states it: per camera the best retraining option
/// at its current shares, then shares stolen pairwise in quanta from an equal split, three rounds.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <stemshare/sched/ekya/scheduler.hpp>
#include <stemshare/sched/ekya/score.hpp>

namespace stemshare::sched::ekya {

namespace detail {

/// A job of the steal loop: a camera's inference or its retraining.
struct job {
    std::size_t camera;
    bool training;
};

inline allocation to_allocation(std::size_t cameras, const std::vector<job>& jobs,
                                const std::vector<double>& shares,
                                const std::vector<std::optional<std::size_t>>& options) {
    allocation a(cameras);
    for (std::size_t j = 0; j < jobs.size(); ++j) {
        camera_share& s = a[jobs[j].camera];
        if (jobs[j].training) {
            s.training = shares[j];
            s.option = options[jobs[j].camera];
        } else {
            s.inference = shares[j];
        }
    }
    return a;
}

/// Indices of the options a camera may choose: the running one only, if any; else all that beat
/// its current accuracy.
inline std::vector<std::size_t> candidate_options(const camera& c) {
    std::vector<std::size_t> out;
    for (std::size_t k = 0; k < c.options.size(); ++k) {
        if (c.running && *c.running != k) continue;
        if (c.options[k].predicted_accuracy > c.accuracy) out.push_back(k);
    }
    return out;
}

}  // namespace detail

/// The thief scheduler. `rounds` is Ekya's 3.
class thief_scheduler final : public scheduler {
public:
    explicit thief_scheduler(int rounds = 3) : rounds_(rounds) {
        require(rounds_ > 0, "thief scheduler", "rounds must be positive");
    }

    [[nodiscard]] std::string name() const override { return "thief"; }
    [[nodiscard]] allocation inference_shares(const window& w) const override {
        return equal_inference_shares(w);
    }

    [[nodiscard]] allocation allocate(const window& w) const override {
        validate(w);
        const std::size_t n = w.cameras.size();
        const double half = w.box / (2.0 * static_cast<double>(n));
        // Step 1: every camera at inference R/(2C), training R/(2C).
        std::vector<double> inference(n, half), training(n, half);
        allocation best_overall;
        double best_overall_score = -1;
        for (int round = 0; round < rounds_; ++round) {
            // Step 2a: each camera's option alone, {its inference job, that option}, at its shares.
            std::vector<std::optional<std::size_t>> chosen(n);
            for (std::size_t i = 0; i < n; ++i) chosen[i] = best_option(w, i, inference[i], training[i]);
            // Step 2b: all inference jobs plus the chosen retraining jobs, from an equal split.
            std::vector<detail::job> jobs;
            for (std::size_t i = 0; i < n; ++i) jobs.push_back({i, false});
            for (std::size_t i = 0; i < n; ++i)
                if (chosen[i]) jobs.push_back({i, true});
            std::vector<double> shares(jobs.size(), w.box / static_cast<double>(jobs.size()));
            double best = score(w, detail::to_allocation(n, jobs, shares, chosen));
            for (std::size_t thief = 0; thief < jobs.size(); ++thief) {
                for (std::size_t victim = 0; victim < jobs.size(); ++victim) {
                    if (thief == victim) continue;
                    const std::vector<double> from = shares;
                    for (int k = 1;; ++k) {
                        const double s = k * w.quantum;
                        if (s > from[victim] + 1e-9) break;
                        std::vector<double> candidate = from;
                        candidate[victim] = std::max(0.0, from[victim] - s);
                        candidate[thief] = from[thief] + (from[victim] - candidate[victim]);
                        const double value = score(w, detail::to_allocation(n, jobs, candidate, chosen));
                        if (value > best + 1e-12) {
                            best = value;
                            shares = candidate;
                        }
                    }
                }
            }
            const allocation a = detail::to_allocation(n, jobs, shares, chosen);
            if (best > best_overall_score + 1e-12) {
                best_overall_score = best;
                best_overall = a;
            }
            for (std::size_t i = 0; i < n; ++i) {
                inference[i] = a[i].inference;
                training[i] = a[i].training;
            }
        }
        return best_overall;
    }

    /// Step 2a for camera `i`: the option that maximises the score of the camera alone at the given
    /// shares, among those predicted to beat its current model; ties go to the higher predicted
    /// accuracy, then to less work. None if no option beats the current model.
    [[nodiscard]] static std::optional<std::size_t> best_option(const window& w, std::size_t i,
                                                                double inference, double training) {
        window alone = w;
        alone.cameras = {w.cameras[i]};
        const camera& c = w.cameras[i];
        std::optional<std::size_t> best;
        double best_score = -1;
        for (std::size_t k : detail::candidate_options(c)) {
            const double value = score(alone, allocation{camera_share{inference, training, k}});
            const bool better = !best || value > best_score + 1e-12 ||
                                (value > best_score - 1e-12 &&
                                 (c.options[k].predicted_accuracy > c.options[*best].predicted_accuracy ||
                                  (c.options[k].predicted_accuracy == c.options[*best].predicted_accuracy &&
                                   c.options[k].work() < c.options[*best].work())));
            if (better) {
                best = k;
                best_score = std::max(best_score, value);
            }
        }
        return best;
    }

private:
    int rounds_;
};

}  // namespace stemshare::sched::ekya
