#pragma once
/// \file
/// `experiment::frame_stream`: a synthetic video stream built from Fashion-MNIST test images,
/// with per-frame and per-event ground truth.
///
/// The stream alternates *background* runs and *object events*. A background run shows one image
/// of a background class (classes no app targets) for a random number of frames; an event shows
/// one image of a target class for exactly `event_frames = round(event_ms / 1000 * fps)` frames.
/// Within a run, consecutive frames are the same object with a small random-walk shift (at most
/// `max_shift` pixels from its place) and fresh pixel noise, so they are correlated the way
/// consecutive video frames are. Every event is followed by background, so two events never
/// touch and an app's events are exactly the object events whose class it targets.
///
/// Everything depends only on the seed and the options.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::experiment {

struct stream_options {
    double fps = 15.0;
    double duration_s = 120.0;
    /// How long an object stays in view.
    double event_ms = 1000.0;
    /// Share of the frames inside some event (the rest is background).
    double event_share = 0.5;
    /// Largest displacement of an object from its place, in pixels.
    int max_shift = 2;
    /// Pixel noise: uniform in [-noise, noise], then clamped to [0, 1].
    float noise = 0.08F;
    std::uint64_t seed = 1;
};

/// Frames [begin, end) of the stream.
struct frame_interval {
    std::int64_t begin = 0;
    std::int64_t end = 0;
    [[nodiscard]] std::int64_t length() const noexcept { return end - begin; }
    friend bool operator==(const frame_interval&, const frame_interval&) = default;
};

/// One run of frames showing one source image.
struct stream_segment {
    frame_interval frames;
    std::int32_t label = 0;
    /// Index of the source image in the image set.
    std::int64_t source = 0;
    bool is_event = false;
};

class frame_stream {
public:
    /// Builds a stream from `images` {N, 1, h, w} in [0, 1] with `labels`; background runs use
    /// images of `background_classes`, events images of `event_classes` (chosen uniformly).
    frame_stream(const tensor<float>& images, std::span<const std::uint8_t> labels,
                 std::span<const std::int32_t> background_classes,
                 std::span<const std::int32_t> event_classes, const stream_options& options)
        : options_(options) {
        const std::string who = "experiment::frame_stream";
        if (!(options.fps > 0.0) || !(options.duration_s > 0.0) || !(options.event_ms > 0.0))
            throw error(who, "fps, duration_s and event_ms must be positive");
        if (!(options.event_share > 0.0 && options.event_share < 1.0))
            throw error(who, "event_share must be in (0, 1)");
        const dims& d = images.extents();
        if (d.rank() != 4 || d[1] != 1 || static_cast<std::int64_t>(labels.size()) != d[0])
            throw error(who, "images must be {N, 1, h, w} with one label each");
        if (background_classes.empty()) throw error(who, "background_classes is empty");
        if (event_classes.empty()) throw error(who, "event_classes is empty; a stream needs an event class");
        height_ = d[2];
        width_ = d[3];
        const auto pool = [&](std::span<const std::int32_t> classes) {
            std::vector<std::int64_t> out;
            for (std::int64_t i = 0; i < d[0]; ++i)
                if (std::find(classes.begin(), classes.end(), labels[static_cast<std::size_t>(i)]) !=
                    classes.end())
                    out.push_back(i);
            if (out.empty()) throw error(who, "no image of the requested classes");
            return out;
        };
        const std::vector<std::int64_t> background = pool(background_classes);
        std::vector<std::vector<std::int64_t>> by_class;
        for (std::int32_t c : event_classes) by_class.push_back(pool(std::span<const std::int32_t>(&c, 1)));

        frames_total_ = std::max<std::int64_t>(1, std::llround(options.duration_s * options.fps));
        event_frames_ = std::max<std::int64_t>(1, std::llround(options.event_ms / 1000.0 * options.fps));
        const double mean_gap =
            static_cast<double>(event_frames_) * (1.0 - options.event_share) / options.event_share;
        std::mt19937_64 rng(options.seed);
        const auto uniform = [&rng](double lo, double hi) {
            return lo + (hi - lo) * static_cast<double>(rng() >> 11U) * 0x1.0p-53;
        };
        const auto pick = [&rng](const std::vector<std::int64_t>& from) {
            return from[static_cast<std::size_t>(rng() % from.size())];
        };
        std::int64_t at = 0;
        bool event_next = false;
        while (at < frames_total_) {
            stream_segment s;
            s.frames.begin = at;
            if (event_next) {
                const std::size_t k = static_cast<std::size_t>(rng() % by_class.size());
                s.label = event_classes[k];
                s.source = pick(by_class[k]);
                s.is_event = true;
                s.frames.end = at + event_frames_;
            } else {
                s.source = pick(background);
                s.label = labels[static_cast<std::size_t>(s.source)];
                s.frames.end = at + std::max<std::int64_t>(1, std::llround(uniform(0.5, 1.5) * mean_gap));
            }
            // An event cut by the end of the stream is not an event anyone could finish seeing.
            if (s.is_event && s.frames.end > frames_total_) {
                s.is_event = false;
                s.source = pick(background);
                s.label = labels[static_cast<std::size_t>(s.source)];
            }
            s.frames.end = std::min(s.frames.end, frames_total_);
            segments_.push_back(s);
            at = s.frames.end;
            event_next = !event_next;
        }
        render(images, rng);
    }

    [[nodiscard]] const stream_options& options() const noexcept { return options_; }
    [[nodiscard]] double fps() const noexcept { return options_.fps; }
    [[nodiscard]] std::int64_t frame_count() const noexcept { return frames_total_; }
    /// Frames per event: round(event_ms / 1000 * fps), at least 1.
    [[nodiscard]] std::int64_t event_frames() const noexcept { return event_frames_; }
    /// Every frame, {frames, 1, h, w}.
    [[nodiscard]] const tensor<float>& frames() const noexcept { return frames_; }
    [[nodiscard]] const std::vector<stream_segment>& segments() const noexcept { return segments_; }
    /// The class shown in each frame.
    [[nodiscard]] std::vector<std::int32_t> frame_labels() const {
        std::vector<std::int32_t> out(static_cast<std::size_t>(frames_total_));
        for (const auto& s : segments_)
            for (std::int64_t f = s.frames.begin; f < s.frames.end; ++f)
                out[static_cast<std::size_t>(f)] = s.label;
        return out;
    }
    /// The events of an app targeting `targets`, in frame order.
    [[nodiscard]] std::vector<frame_interval> events_for(std::span<const std::int32_t> targets) const {
        std::vector<frame_interval> out;
        for (const auto& s : segments_)
            if (s.is_event && std::find(targets.begin(), targets.end(), s.label) != targets.end())
                out.push_back(s.frames);
        return out;
    }
    /// Per frame: is one of `targets` in view (inside one of the app's events)?
    [[nodiscard]] std::vector<bool> present(std::span<const std::int32_t> targets) const {
        std::vector<bool> out(static_cast<std::size_t>(frames_total_), false);
        for (const auto& e : events_for(targets))
            for (std::int64_t f = e.begin; f < e.end; ++f) out[static_cast<std::size_t>(f)] = true;
        return out;
    }

private:
    void render(const tensor<float>& images, std::mt19937_64& rng) {
        frames_ = tensor<float>(dims{frames_total_, 1, height_, width_});
        const std::int64_t plane = height_ * width_;
        const int limit = options_.max_shift;
        for (const auto& s : segments_) {
            const float* src = images.data() + s.source * plane;
            int dy = 0;
            int dx = 0;
            for (std::int64_t f = s.frames.begin; f < s.frames.end; ++f) {
                if (f > s.frames.begin && limit > 0) {
                    dy = std::clamp(dy + static_cast<int>(rng() % 3) - 1, -limit, limit);
                    dx = std::clamp(dx + static_cast<int>(rng() % 3) - 1, -limit, limit);
                }
                float* dst = frames_.data() + f * plane;
                for (std::int64_t y = 0; y < height_; ++y)
                    for (std::int64_t x = 0; x < width_; ++x) {
                        const std::int64_t sy = y - dy;
                        const std::int64_t sx = x - dx;
                        const float v = (sy < 0 || sy >= height_ || sx < 0 || sx >= width_)
                                            ? 0.0F
                                            : src[sy * width_ + sx];
                        const auto u = static_cast<float>(static_cast<double>(rng() >> 11U) * 0x1.0p-53);
                        dst[y * width_ + x] = std::clamp(v + options_.noise * (2.0F * u - 1.0F), 0.0F, 1.0F);
                    }
            }
        }
    }

    stream_options options_;
    std::int64_t height_ = 0;
    std::int64_t width_ = 0;
    std::int64_t frames_total_ = 0;
    std::int64_t event_frames_ = 0;
    std::vector<stream_segment> segments_;
    tensor<float> frames_;
};

}  // namespace stemshare::experiment
