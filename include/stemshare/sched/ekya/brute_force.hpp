#pragma once
/// \file
/// An exhaustive reference scheduler for small windows: every choice of options and every split of
/// the box in quanta over the resulting jobs. Used to check the thief.

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <stemshare/sched/ekya/score.hpp>
#include <stemshare/sched/ekya/scheduler.hpp>
#include <stemshare/sched/ekya/thief.hpp>

namespace stemshare::sched::ekya {

/// Searches every option choice per camera (no retraining, or any option the thief may choose:
/// the running one, else those beating the current model) and every split of the box into multiples
/// of the quantum over all inference jobs and the chosen retraining jobs. Exponential: throws
/// `stemshare::error` if the box is not a whole number of quanta or the search exceeds `max_scores`.
class brute_force_scheduler final : public scheduler {
public:
    explicit brute_force_scheduler(std::size_t max_scores = 2'000'000) : max_scores_(max_scores) {}

    [[nodiscard]] std::string name() const override { return "brute-force"; }
    [[nodiscard]] allocation inference_shares(const window& w) const override { return equal_inference_shares(w); }

    [[nodiscard]] allocation allocate(const window& w) const override {
        validate(w);
        const double units_real = w.box / w.quantum;
        const auto units = static_cast<int>(std::lround(units_real));
        require(std::abs(units_real - units) < 1e-6, "brute-force scheduler", "box is not a whole number of quanta");
        const std::size_t n = w.cameras.size();
        std::vector<std::vector<std::optional<std::size_t>>> choices(n);
        for (std::size_t i = 0; i < n; ++i) {
            choices[i].push_back(std::nullopt);
            for (std::size_t k : detail::candidate_options(w.cameras[i])) choices[i].push_back(k);
        }
        std::vector<std::size_t> pick(n, 0);
        allocation best;
        double best_score = -1;
        std::size_t scored = 0;
        while (true) {
            allocation a(n);
            std::vector<double*> jobs;
            for (std::size_t i = 0; i < n; ++i) {
                a[i].option = choices[i][pick[i]];
                jobs.push_back(&a[i].inference);
            }
            for (std::size_t i = 0; i < n; ++i)
                if (a[i].option) jobs.push_back(&a[i].training);
            std::vector<int> split(jobs.size(), 0);
            split.back() = units;
            // Every composition of `units` into jobs.size() non-negative parts.
            while (true) {
                for (std::size_t j = 0; j < jobs.size(); ++j) *jobs[j] = split[j] * w.quantum;
                require(++scored <= max_scores_, "brute-force scheduler", "search too large");
                const double value = score(w, a);
                if (value > best_score + 1e-12) {
                    best_score = value;
                    best = a;
                }
                if (!next_split(split)) break;
            }
            std::size_t i = 0;
            while (i < n && ++pick[i] == choices[i].size()) pick[i++] = 0;
            if (i == n) break;
        }
        return best;
    }

private:
    /// Next composition: split[0..m-2] count like an odometer whose digits sum to at most the
    /// total, and the last part takes the remainder. False (and back to the first) after the last.
    static bool next_split(std::vector<int>& split) {
        const std::size_t m = split.size();
        if (m < 2) return false;
        int rest = split[m - 1];
        for (std::size_t j = m - 1; j-- > 0;) {
            if (rest > 0) {
                ++split[j];
                split[m - 1] = rest - 1;
                return true;
            }
            rest += split[j];
            split[j] = 0;
            split[m - 1] = rest;
        }
        return false;
    }

    std::size_t max_scores_;
};

}  // namespace stemshare::sched::ekya
