#pragma once
/// \file
/// Frames of Ekya's drifting cameras (link `stemshare::xtensor`): each window draws labelled
/// images from a source set (Fashion-MNIST's test split) with the camera's class mix, then applies
/// its perturbations as xtensor expressions. Seeded: same source, schedule, seed, camera and window,
/// the same bits (in one build: the normal distribution's algorithm is the standard library's).

#include <stemshare/interop/xtensor.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xpad.hpp>
#include <xtensor/xrandom.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xview.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/drift_schedule.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::experiment {

/// One camera's frames of one window: images {N, 1, h, w} in [0, 1] and their true labels.
struct window_frames {
    tensor<float> images;
    std::vector<std::int32_t> labels;
};

/// Applies `p` to images {N, h, w} in [0, 1]; the result is clipped to [0, 1]. `engine` draws the noise.
[[nodiscard]] inline xt::xtensor<float, 3> perturb(const xt::xtensor<float, 3>& src, const perturbation& p,
                                                   std::mt19937_64& engine) {
    const std::size_t n = src.shape()[0], h = src.shape()[1], w = src.shape()[2];
    // Geometry (the camera turned and moved): nearest-neighbour inverse map, out-of-frame pixels 0.
    const double theta = p.rotation * std::numbers::pi / 180.0;
    const double ci = (static_cast<double>(h) - 1) / 2, cj = (static_cast<double>(w) - 1) / 2;
    const xt::xtensor<double, 2> ii =
        xt::view(xt::arange<double>(static_cast<double>(h)), xt::all(), xt::newaxis()) - ci;
    const xt::xtensor<double, 2> jj =
        xt::view(xt::arange<double>(static_cast<double>(w)), xt::newaxis(), xt::all()) - cj;
    const xt::xtensor<long, 2> si =
        xt::cast<long>(xt::round(std::cos(theta) * ii + std::sin(theta) * jj + ci - p.shift / 2));
    const xt::xtensor<long, 2> sj =
        xt::cast<long>(xt::round(-std::sin(theta) * ii + std::cos(theta) * jj + cj - p.shift));
    xt::xtensor<float, 3> moved = xt::zeros<float>({n, h, w});
    for (std::size_t i = 0; i < h; ++i)
        for (std::size_t j = 0; j < w; ++j) {
            const long a = si(i, j), b = sj(i, j);
            if (a < 0 || b < 0 || a >= static_cast<long>(h) || b >= static_cast<long>(w)) continue;
            xt::view(moved, xt::all(), i, j) =
                xt::view(src, xt::all(), static_cast<std::size_t>(a), static_cast<std::size_t>(b));
        }
    // Blur: mix with the 3 x 3 box average (edges mirrored, which at width 1 repeats the edge pixel).
    const xt::xtensor<float, 3> padded = xt::pad(moved, {{0, 0}, {1, 1}, {1, 1}}, xt::pad_mode::symmetric);
    xt::xtensor<float, 3> box = xt::zeros<float>({n, h, w});
    for (std::size_t di = 0; di < 3; ++di)
        for (std::size_t dj = 0; dj < 3; ++dj)
            box += xt::view(padded, xt::all(), xt::range(di, di + h), xt::range(dj, dj + w));
    const auto blur = static_cast<float>(p.blur);
    const xt::xtensor<float, 3> blurred = (1.0f - blur) * moved + (blur / 9.0f) * box;
    // Contrast about each image's mean, brightness, noise, clip.
    const xt::xtensor<float, 3> mean = xt::mean(blurred, {1, 2}, xt::keep_dims);
    const auto contrast = static_cast<float>(p.contrast), brightness = static_cast<float>(p.brightness);
    xt::xtensor<float, 3> out = (blurred - mean) * contrast + mean + brightness;
    if (p.noise > 0) out += xt::random::randn<float>({n, h, w}, 0.0f, static_cast<float>(p.noise), engine);
    return xt::clip(out, 0.0f, 1.0f);
}

/// Window `window` of `windows` for camera `camera` (entry camera % schedule.cameras.size()).
/// `images` {N, 1, h, w} in [0, 1] with `labels` 0..9 are the source; frames are drawn with
/// replacement. Throws `stemshare::error` naming the argument on bad input.
[[nodiscard]] inline window_frames make_window(const tensor<float>& images,
                                               const std::vector<std::int32_t>& labels,
                                               const drift_schedule& schedule, std::size_t camera, int window,
                                               int windows, std::uint64_t seed) {
    require(!schedule.cameras.empty(), "drift stream", "the schedule has no cameras");
    require(windows > 0, "drift stream", "windows must be positive, got " + std::to_string(windows));
    require(window >= 0 && window < windows, "drift stream",
            "window " + std::to_string(window) + " is outside [0, " + std::to_string(windows) + ")");
    const dims& d = images.extents();
    require(d.rank() == 4 && d[1] == 1, "drift stream", "source images must be {N, 1, h, w}");
    require(static_cast<std::int64_t>(labels.size()) == d[0], "drift stream", "one label per source image");
    const drift_camera& cam = schedule.cameras[camera % schedule.cameras.size()];
    const double progress = windows > 1 ? static_cast<double>(window) / (windows - 1) : 0.0;

    std::vector<std::vector<std::size_t>> by_class(10);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        require(labels[i] >= 0 && labels[i] < 10, "drift stream",
                "label of source image " + std::to_string(i) + " is not 0..9");
        by_class[static_cast<std::size_t>(labels[i])].push_back(i);
    }
    std::array<double, 10> mix = cam.classes_at(progress);
    for (std::size_t k = 0; k < 10; ++k)
        if (by_class[k].empty()) mix[k] = 0;
    double total = 0;
    for (double m : mix) total += m;
    require(total > 0, "drift stream, camera '" + cam.name + "'",
            "no source images of the classes its mix asks for");

    std::mt19937_64 engine(seed * 1'000'003u + camera * 10'007u + static_cast<std::uint64_t>(window) * 101u +
                           1u);
    std::discrete_distribution<int> pick_class(mix.begin(), mix.end());
    const auto n = static_cast<std::size_t>(schedule.frames_per_window);
    const auto h = static_cast<std::size_t>(d[2]), w = static_cast<std::size_t>(d[3]);
    xt::xtensor<float, 3> raw = xt::zeros<float>({n, h, w});
    window_frames out;
    out.labels.resize(n);
    for (std::size_t f = 0; f < n; ++f) {
        const auto k = static_cast<std::size_t>(pick_class(engine));
        const std::size_t item = by_class[k][engine() % by_class[k].size()];
        std::copy_n(images.data() + item * h * w, h * w, raw.data() + f * h * w);
        out.labels[f] = static_cast<std::int32_t>(k);
    }
    const xt::xtensor<float, 3> frames = perturb(raw, cam.at(progress), engine);
    out.images = tensor<float>(dims{static_cast<std::int64_t>(n), 1, d[2], d[3]});
    std::copy(frames.begin(), frames.end(), out.images.data());
    return out;
}

}  // namespace stemshare::experiment
