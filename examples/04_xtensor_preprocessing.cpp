// A user's own pre-processing, written with xtensor, feeding a zoo model through stemshare: an
// 8-bit RGB camera frame holding a 2 x 2 grid of 56x56 tiles becomes grey floats, the tiles go to
// NCHW with xt::transpose, each is halved to 28x28 by striding and normalised with Fashion-MNIST's
// mean and std, and fashion_mobilenet (random weights) classifies the four tiles in one batch, its
// scores read back as xtensor. The lazy, strided input costs one copy; an evaluated one none.
// Then the same pipeline written with Eigen tensors over the same frame memory, which must agree
// with the xtensor one on the model's input and scores.
// Usage: 04_xtensor_preprocessing [--smoke] [--threads N]
#include <stemshare/interop/xtensor.hpp>  // first: it repairs xt::xarray before anything uses it

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <xtensor/xmanipulation.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xview.hpp>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/interop/eigen.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>

#include "example_args.hpp"

namespace {

constexpr std::size_t grid = 2;   // tiles per side
constexpr std::size_t tile = 56;  // camera pixels per tile side
constexpr std::size_t side = grid * tile;
constexpr std::size_t stride = 2;  // 56 -> 28, the model's input
constexpr float mean = 0.2860F;    // Fashion-MNIST's pixel mean and standard deviation
constexpr float std_dev = 0.3530F;
constexpr std::array<float, 3> luma = {0.299F, 0.587F, 0.114F};

/// A synthetic frame {side, side, 3} (HWC, 8-bit): each tile a different bright shape on a gradient.
xt::xtensor<std::uint8_t, 3> camera_frame() {
    xt::xtensor<std::uint8_t, 3> frame(std::array<std::size_t, 3>{side, side, 3});
    for (std::size_t y = 0; y < side; ++y) {
        for (std::size_t x = 0; x < side; ++x) {
            const std::size_t t = (y / tile) * grid + x / tile, ly = y % tile, lx = x % tile;
            const bool shape = t == 0   ? (lx > 14 && lx < 42)                                    // a bar
                               : t == 1 ? (ly > 10 && ly < 46 && lx > 10 && lx < 46)              // a block
                               : t == 2 ? (lx + ly > 40 && lx + ly < 72)                          // a band
                                        : ((lx - 28) * (lx - 28) + (ly - 28) * (ly - 28) < 300);  // a disc
            for (std::size_t c = 0; c < 3; ++c)
                frame(y, x, c) = static_cast<std::uint8_t>(shape ? 200 + 20 * c : (lx + ly + 30 * c) % 64);
        }
    }
    return frame;
}

/// The xtensor pipeline: a lazy, strided {4, 1, 28, 28} expression over an evaluated tile batch.
auto xtensor_pipeline(const xt::xtensor<std::uint8_t, 3>& frame, xt::xarray<float>& tiles) {
    const xt::xtensor<float, 1> weights = {luma[0] / 255.0F, luma[1] / 255.0F, luma[2] / 255.0F};
    // Grey, keeping the channel axis: {side, side, 1}, still HWC.
    const xt::xtensor<float, 3> grey = xt::sum(xt::cast<float>(frame) * weights, {2}, xt::keep_dims);
    // Tiles: {tile row, y, tile column, x, c} -> {tile row, tile column, c, y, x} -> {4, 1, 56, 56}.
    tiles = xt::transpose(xt::reshape_view(grey, std::array<std::size_t, 5>{grid, tile, grid, tile, 1}),
                          {0, 2, 4, 1, 3});
    tiles.reshape({grid * grid, 1, tile, tile});
    constexpr auto end = static_cast<long>(tile), step = static_cast<long>(stride);
    return (xt::view(tiles, xt::all(), xt::all(), xt::range(0, end, step), xt::range(0, end, step)) - mean) /
           std_dev;
}

using row_tensor4 = Eigen::Tensor<float, 4, Eigen::RowMajor>;

/// The same pipeline in Eigen, over the frame's memory (no copy of the pixels).
auto eigen_pipeline(const xt::xtensor<std::uint8_t, 3>& frame) {
    constexpr auto n = static_cast<Eigen::Index>(grid), t = static_cast<Eigen::Index>(tile);
    const Eigen::TensorMap<const Eigen::Tensor<std::uint8_t, 3, Eigen::RowMajor>> pixels(frame.data(), n * t,
                                                                                         n * t, 3);
    Eigen::Tensor<float, 1, Eigen::RowMajor> weights(3);
    for (Eigen::Index c = 0; c < 3; ++c) weights(c) = luma[static_cast<std::size_t>(c)] / 255.0F;
    const Eigen::Tensor<float, 2, Eigen::RowMajor> grey =
        (pixels.cast<float>() * weights.reshape(std::array<Eigen::Index, 3>{1, 1, 3})
                                    .broadcast(std::array<Eigen::Index, 3>{n * t, n * t, 1}))
            .sum(std::array<Eigen::Index, 1>{2});
    const row_tensor4 tiles = grey.reshape(std::array<Eigen::Index, 4>{n, t, n, t})
                                  .shuffle(std::array<int, 4>{0, 2, 1, 3})
                                  .reshape(std::array<Eigen::Index, 4>{n * n, 1, t, t});
    const auto s = static_cast<Eigen::Index>(stride);
    return row_tensor4((tiles.stride(std::array<Eigen::Index, 4>{1, 1, s, s}) - mean) / std_dev);
}

template <class F>
double median_micros(int runs, F&& f) {
    std::vector<double> micros;
    for (int r = 0; r < runs; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        micros.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(micros.begin(), micros.end());
    return micros[micros.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const auto flags = parse_example_flags(argc, argv);
    if (!flags) return 2;
    const bool smoke = flags->smoke;
    const int threads = flags->threads;
    try {
        stemshare::graph g = stemshare::zoo::fashion_mobilenet.to_graph();
        g.bind_random(/*seed=*/42);
        stemshare::onednn::compiled_graph model(g, {.batch = grid * grid, .threads = threads});

        const xt::xtensor<std::uint8_t, 3> frame = camera_frame();
        xt::xarray<float> tiles;
        const auto input = xtensor_pipeline(frame, tiles);  // lazy: nothing computed yet
        const xt::xtensor<float, 4> scores = stemshare::xt_run(model, input);

        // The same input evaluated first: contiguous row-major floats, which the model reads in place.
        const xt::xtensor<float, 4> evaluated = input;
        const bool zero_copy = !stemshare::from_xtensor(evaluated).is_copy();
        const bool same = scores == stemshare::xt_run(model, evaluated);

        // Eigen, over the same frame memory: its evaluated batch is read in place too; the scores
        // come back as an Eigen tensor, viewed as an N x 10 matrix for the top classes.
        const row_tensor4 eigen_input = eigen_pipeline(frame);
        const bool eigen_zero_copy = !stemshare::from_eigen(eigen_input).is_copy();
        const row_tensor4 eigen_scores = stemshare::eigen_run(model, eigen_input);
        const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
            eigen_matrix(eigen_scores.data(), eigen_scores.dimension(0), eigen_scores.dimension(1));

        // The two pre-processing pipelines agree (sums taken in another order may differ in the last bit).
        float input_diff = 0;
        for (std::size_t i = 0; i < evaluated.size(); ++i)
            input_diff = std::max(input_diff, std::abs(evaluated.data()[i] - eigen_input.data()[i]));
        float score_diff = 0;
        bool same_top = true;
        std::printf("tile  top (xtensor)  score  top (Eigen)\n");
        for (std::size_t n = 0; n < grid * grid; ++n) {
            auto row = xt::view(scores, n, xt::all(), 0, 0);
            const auto top = static_cast<std::size_t>(std::max_element(row.begin(), row.end()) - row.begin());
            Eigen::Index eigen_top = 0;
            eigen_matrix.row(static_cast<Eigen::Index>(n)).maxCoeff(&eigen_top);
            same_top = same_top && top == static_cast<std::size_t>(eigen_top);
            for (std::size_t k = 0; k < scores.shape()[1]; ++k)
                score_diff = std::max(
                    score_diff, std::abs(scores(n, k, 0, 0) - eigen_matrix(static_cast<Eigen::Index>(n),
                                                                           static_cast<Eigen::Index>(k))));
            std::printf("%4zu  %13zu  %5.2f  %11td\n", n, top, static_cast<double>(scores(n, top, 0, 0)),
                        static_cast<std::ptrdiff_t>(eigen_top));
        }

        const int runs = smoke ? 5 : 200;
        const double lazy_us = median_micros(runs, [&] { (void)stemshare::xt_run(model, input); });
        const double evaluated_us = median_micros(runs, [&] { (void)stemshare::xt_run(model, evaluated); });
        std::printf(
            "fashion_mobilenet, batch %lld, %d threads, random weights: a deep random net forgets\n"
            "its input, so the tiles score alike; bind trained weights (io::bind_weights, example 02)\n"
            "for classes that mean something\n",
            static_cast<long long>(model.batch()), model.threads());
        std::printf("lazy strided xtensor input (one copy): median %.1f us per batch over %d runs\n", lazy_us,
                    runs);
        std::printf("evaluated xtensor input (zero copy: %s): median %.1f us\n", zero_copy ? "yes" : "NO",
                    evaluated_us);
        std::printf("lazy and evaluated inputs give the same scores: %s\n", same ? "yes" : "NO");
        std::printf(
            "Eigen input (zero copy: %s): max |xtensor - Eigen| input %.3g, score %.3g, same top "
            "classes: %s\n",
            eigen_zero_copy ? "yes" : "NO", static_cast<double>(input_diff), static_cast<double>(score_diff),
            same_top ? "yes" : "NO");
        const bool ok =
            zero_copy && eigen_zero_copy && same && same_top && input_diff < 1e-5F && score_diff < 1e-4F;
        return ok ? 0 : 1;
    } catch (const stemshare::error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
