#pragma once
/// \file
/// `frame_rate` and the frame-selection rule: which frames of a stream an app (and each stem
/// segment) processes. Exact integer arithmetic, so the choice is deterministic everywhere.
///
/// The rule. Rates are kept in thousandths of a frame per second. A step of the plan at rate r
/// reads the frames of its parent step, which runs at rate p >= r (the stream itself, at F, for
/// the top steps). Of the parent's frames, numbered j = 0, 1, 2, ... in the order it processed
/// them, the step takes frame j exactly when floor(j r / p) > floor((j - 1) r / p), i.e. j = 0
/// and then every time j r / p crosses an integer; the taken frame gets number floor(j r / p)
/// among the step's own frames. So a step at rate r takes exactly r/p of its parent's frames,
/// evenly spread (stride p/r, e.g. frames 0, 3, 6, ... of a 15 fps stream at 5 fps).
///
/// A stem step runs at the highest rate of the apps below it, and an app's suffix at the app's
/// own rate f, applied to the frames of the stem step it branches from. Along a path the rates
/// never rise, so every app processes exactly f frames per second of stream, its stem exactly
/// max f, and a stem never runs for a frame that no app below it processes. Which frames an
/// app sees depends on the rates above it; with every app at one rate, or at the stream rate,
/// the frames are those of the single-step rule applied to the stream frame number.

#include <cmath>
#include <cstdint>
#include <string>

#include <stemshare/core/error.hpp>

namespace stemshare::runtime {

struct frame_rate {
    /// Thousandths of a frame per second.
    std::int64_t millifps = 0;

    /// `fps` rounded to the nearest thousandth; `who` names the app or stream in errors.
    [[nodiscard]] static frame_rate from_fps(double fps, const std::string& who) {
        if (!(fps >= 0.001) || !(fps <= 1e6))
            throw error(who, "frame rate must be between 0.001 and 1e6 fps, got " + std::to_string(fps));
        return {static_cast<std::int64_t>(std::llround(fps * 1000.0))};
    }
    [[nodiscard]] constexpr double fps() const noexcept { return static_cast<double>(millifps) / 1000.0; }
    friend constexpr auto operator<=>(const frame_rate&, const frame_rate&) = default;
};

/// floor(j r / p) for r <= p without forming j r, which would overflow 64 bits after 10 years of
/// a 1000 fps stream at the largest rates (j = 3.2e11 frames, r up to 1e9 millifps): with
/// j = q p + m, j r / p = q r + m r / p, and m r < p r <= 1e18 fits. Exact for every 64-bit j.
[[nodiscard]] constexpr std::uint64_t scale_frame_number(std::uint64_t j, std::uint64_t r,
                                                         std::uint64_t p) noexcept {
    return (j / p) * r + ((j % p) * r) / p;
}

/// True when frame number `j` of a parent at rate `parent` is taken by a child at rate `child`
/// (child <= parent). Exact for every 64-bit frame number.
[[nodiscard]] constexpr bool selects(std::uint64_t j, frame_rate child, frame_rate parent) noexcept {
    const auto r = static_cast<std::uint64_t>(child.millifps);
    const auto p = static_cast<std::uint64_t>(parent.millifps);
    return j == 0 || scale_frame_number(j, r, p) != scale_frame_number(j - 1, r, p);
}

/// The number a taken frame gets among the child's own frames.
[[nodiscard]] constexpr std::uint64_t child_frame_number(std::uint64_t j, frame_rate child,
                                                         frame_rate parent) noexcept {
    return scale_frame_number(j, static_cast<std::uint64_t>(child.millifps),
                              static_cast<std::uint64_t>(parent.millifps));
}

/// The rule with a phase, for an app that reads the stream directly (branch point 0): the app's
/// frames are the stream's shifted by `phase` stream frames, i.e. it takes frame j when
/// j >= phase and `selects(j - phase, ...)`. Apps at one rate with different phases take
/// different frames (staggered), so their work does not land on the same frame. Phase 0 is the
/// rule above, bit for bit.
[[nodiscard]] constexpr bool selects_with_phase(std::uint64_t j, std::uint64_t phase, frame_rate child,
                                                frame_rate parent) noexcept {
    return j >= phase && selects(j - phase, child, parent);
}

/// Phases that spread `count` apps at one rate `child` over the stream's stride: app i of them gets
/// floor(i x stride / count) stream frames, stride = parent / child (e.g. 3 apps at 5 of 15 fps:
/// 0, 1, 2).
[[nodiscard]] constexpr std::uint64_t stagger_phase(std::uint64_t i, std::uint64_t count, frame_rate child,
                                                    frame_rate parent) noexcept {
    if (count == 0 || child.millifps <= 0) return 0;
    return (i * static_cast<std::uint64_t>(parent.millifps)) /
           (count * static_cast<std::uint64_t>(child.millifps));
}

}  // namespace stemshare::runtime
