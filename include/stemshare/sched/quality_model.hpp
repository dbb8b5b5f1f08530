#pragma once
/// \file
/// `quality_model`: which app-quality model a plan is built on (docs/scheduler.md, "Model").
///
/// - `mainstream` (the default): the original Mainstream model bit for bit, `event_quality`, quirk included:
///   it sees `L f^2 / (1000 F)` samples per event. Reproduces the paper's plans.
/// - `sampled`: the same formula fed the `L f / 1000` samples an app at f fps really takes from
///   an event of L ms (an event of `L F / 1000` stream frames at stride `F / f`). On the demo's
///   streams it is about four times closer to the measured event F1 (docs/experiment.md).

#include <cstdint>
#include <string>
#include <string_view>

#include <stemshare/core/error.hpp>
#include <stemshare/sched/app_quality.hpp>

namespace stemshare::sched {

enum class quality_model : std::uint8_t {
    mainstream,  ///< the original Mainstream model as it ships (`d/s` samples per event)
    sampled,     ///< the same formula with the `L f / 1000` samples an app really takes
};

/// Name used by the CLI and reports.
[[nodiscard]] constexpr std::string_view to_string(quality_model m) noexcept {
    return m == quality_model::sampled ? "sampled" : "mainstream";
}

/// The model named `name`; throws `stemshare::error` naming `who` for any other name.
[[nodiscard]] constexpr quality_model parse_quality_model(std::string_view name, std::string_view who) {
    if (name == "mainstream") return quality_model::mainstream;
    if (name == "sampled") return quality_model::sampled;
    throw error(std::string(who), "unknown quality model '" + std::string(name) + "' (mainstream, sampled)");
}

/// `event_quality` read with `L f / 1000` samples per event: lengthening L by F / f cancels the
/// original's second division by the stride.
[[nodiscard]] constexpr app_quality sampled_event_quality(double true_positive_rate, double false_positive_rate,
                                                          const event_params& ev, double fps) noexcept {
    event_params stretched = ev;
    stretched.event_length_ms = ev.event_length_ms * ev.stream_fps / fps;
    return event_quality(true_positive_rate, false_positive_rate, stretched, fps);
}

/// Event quality of an app under model `m` (see the file comment).
[[nodiscard]] constexpr app_quality model_quality(quality_model m, double true_positive_rate,
                                                  double false_positive_rate, const event_params& ev,
                                                  double fps) noexcept {
    return m == quality_model::sampled ? sampled_event_quality(true_positive_rate, false_positive_rate, ev, fps)
                                       : event_quality(true_positive_rate, false_positive_rate, ev, fps);
}

}  // namespace stemshare::sched
