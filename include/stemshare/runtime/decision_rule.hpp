#pragma once
/// \file
/// `decision_rule`: how an app turns its scores into a decision: the index of the largest score
/// (multi-class), or "positive" when one score reaches a threshold (a binary detector).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <stemshare/core/error.hpp>

namespace stemshare::runtime {

struct decision_rule {
    enum class kind : std::uint8_t { argmax, threshold };

    kind rule = kind::argmax;
    float threshold = 0.5F;
    /// The score compared with the threshold.
    std::int64_t positive_class = 0;

    /// Decision = index of the largest score (the first one on ties).
    [[nodiscard]] static constexpr decision_rule argmax() noexcept { return {}; }
    /// Decision = 1 when scores[positive] >= t, else 0.
    [[nodiscard]] static constexpr decision_rule above(float t, std::int64_t positive = 0) noexcept {
        return {kind::threshold, t, positive};
    }

    /// Throws `stemshare::error` naming the app when the rule does not fit `classes` scores.
    void validate(std::int64_t classes, const std::string& who) const {
        if (rule == kind::threshold && threshold != threshold)  // NaN: every comparison would say 0
            throw error(who, "decision threshold is NaN");
        if (rule == kind::threshold && (positive_class < 0 || positive_class >= classes))
            throw error(who, "decision threshold reads score " + std::to_string(positive_class) +
                                 " of a model with " + std::to_string(classes) + " outputs");
    }

    [[nodiscard]] constexpr std::int64_t decide(std::span<const float> scores) const noexcept {
        if (rule == kind::threshold)
            return scores[static_cast<std::size_t>(positive_class)] >= threshold ? 1 : 0;
        std::size_t best = 0;
        for (std::size_t i = 1; i < scores.size(); ++i)
            if (scores[i] > scores[best]) best = i;
        return static_cast<std::int64_t>(best);
    }
};

}  // namespace stemshare::runtime
