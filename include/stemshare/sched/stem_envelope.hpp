#pragma once
/// \file
/// Incremental plan cost for planners that move one app at a time. With apps placed at levels
/// (indices into `problem::levels()`), the stem segment j (layers [K_{j-1}, K_j)) runs at the max
/// fps of the apps at level >= j, so the cost of "app i moved to option o" needs only the envelope
/// of the other apps, which the top two apps per level give in O(levels).

#include <cstddef>
#include <vector>

#include <stemshare/sched/problem.hpp>

namespace stemshare::sched {

/// Cost of single-app moves against a fixed current plan.
class stem_envelope {
public:
    /// For problem `p` (kept by reference: it must outlive the envelope).
    constexpr explicit stem_envelope(const problem& p)
        : p_(&p), m_(p.levels().size()), top1_(m_), top2_(m_), top1_app_(m_), without_(m_), b_(m_) {}

    /// Makes `current` (one option per app) the plan that moves are measured against.
    constexpr void reset(const std::vector<const option*>& current) {
        current_ = &current;
        suffix_sum_ = 0.0;
        for (const option* o : current) suffix_sum_ += o->suffix_cost;
        std::vector<double> at_level_1(m_, 0.0), at_level_2(m_, 0.0);
        std::vector<std::ptrdiff_t> at_level_app(m_, -1);
        for (std::size_t i = 0; i < current.size(); ++i) {
            const auto j = static_cast<std::size_t>(current[i]->level);
            push(at_level_1[j], at_level_2[j], at_level_app[j], current[i]->fps,
                 static_cast<std::ptrdiff_t>(i));
        }
        double t1 = 0.0, t2 = 0.0;
        std::ptrdiff_t a1 = -1;
        stem_ = 0.0;
        for (std::size_t j = m_; j-- > 0;) {
            push(t1, t2, a1, at_level_1[j], at_level_app[j]);
            if (at_level_2[j] > t2) t2 = at_level_2[j];
            top1_[j] = t1;
            top2_[j] = t2;
            top1_app_[j] = a1;
        }
        for (std::size_t j = 0; j < m_; ++j) stem_ += p_->level_segment(j) * top1_[j];
    }

    /// Cost of the current plan.
    [[nodiscard]] constexpr double cost() const noexcept { return suffix_sum_ + stem_; }

    /// Prepares `cost_with` for moves of app i: the envelope of the other apps, O(levels).
    constexpr void focus(std::size_t i) {
        focus_ = i;
        for (std::size_t j = 0; j < m_; ++j)
            without_[j] = top1_app_[j] == static_cast<std::ptrdiff_t>(i) ? top2_[j] : top1_[j];
        double tail = 0.0;
        for (std::size_t j = m_; j-- > 0;) {
            b_[j] = tail;
            tail += p_->level_segment(j) * without_[j];
        }
    }

    /// Cost of the current plan with the focused app moved to `o` (one of its options), O(level of o).
    [[nodiscard]] constexpr double cost_with(const option& o) const noexcept {
        const auto top = static_cast<std::size_t>(o.level);
        double stem = b_[top];
        for (std::size_t j = 0; j <= top; ++j)
            stem += p_->level_segment(j) * (without_[j] > o.fps ? without_[j] : o.fps);
        return (suffix_sum_ - (*current_)[focus_]->suffix_cost + o.suffix_cost) + stem;
    }

private:
    static constexpr void push(double& first, double& second, std::ptrdiff_t& first_app, double value,
                               std::ptrdiff_t app) noexcept {
        if (app < 0) return;
        if (value > first || first_app < 0) {
            second = first;
            first = value;
            first_app = app;
        } else if (value > second) {
            second = value;
        }
    }

    const problem* p_;
    std::size_t m_;
    const std::vector<const option*>* current_ = nullptr;
    std::size_t focus_ = 0;
    double suffix_sum_ = 0.0;
    double stem_ = 0.0;
    std::vector<double> top1_, top2_;
    std::vector<std::ptrdiff_t> top1_app_;
    std::vector<double> without_, b_;
};

}  // namespace stemshare::sched
