#pragma once
/// \file
/// `frame_result`: what one processed stream frame gave each deployed app. Points into storage
/// the runtime preallocated for the current plan; valid until the next `executor::process`.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace stemshare::runtime {

struct app_result {
    std::string_view app;
    /// False when the app's frame rate skipped this frame (scores empty, decision -1).
    bool processed = false;
    std::span<const float> scores;
    std::int64_t decision = -1;
    /// Why the app's suffix failed on this frame (its runner threw), else empty; `processed` is
    /// false then. The other apps' results of the frame are unaffected.
    std::string_view error;
};

struct frame_result {
    /// Stream frame number, counted from 0 across plan swaps.
    std::uint64_t frame = 0;
    /// Version of the plan that ran this frame (1 for the first plan, +1 per swap).
    std::uint64_t plan_version = 0;
    /// One entry per app in the plan, sorted by name.
    std::span<const app_result> apps;
    /// Stem steps executed for this frame (each shared stem once, however many apps read it).
    std::size_t stem_runs = 0;
    /// App suffixes executed for this frame.
    std::size_t suffix_runs = 0;

    /// The entry of app `name`, or nullptr when it is not in the plan.
    [[nodiscard]] const app_result* find(std::string_view name) const noexcept {
        for (const auto& a : apps)
            if (a.app == name) return &a;
        return nullptr;
    }
};

}  // namespace stemshare::runtime
