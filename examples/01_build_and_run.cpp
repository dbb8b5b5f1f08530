// Builds a small MobileNet-style classifier for 28x28 grey images as a compile-time chain, binds
// seeded random weights, runs it with oneDNN and with the reference backend, and prints latency.
// Usage: 01_build_and_run [--smoke] [--threads N]
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <stemshare/stemshare.hpp>

#include "example_args.hpp"

namespace {

using namespace stemshare::layers;
using stemshare::input;

// conv-bn-relu6, then depthwise-separable blocks; every `|` is shape-checked by the compiler.
constexpr auto net =
    input<1, 28, 28>  //
    | block(conv2d<{.out_channels = 16, .kernel = 3, .stride = 2, .padding = 1, .bias = false}> | batch_norm |
            relu6)  //
    | block(depthwise_conv2d<{.kernel = 3, .padding = 1, .bias = false}> | batch_norm | relu6 |
            conv2d<{.out_channels = 32, .bias = false}> | batch_norm | relu6)  //
    | block(depthwise_conv2d<{.kernel = 3, .stride = 2, .padding = 1, .bias = false}> | batch_norm | relu6 |
            conv2d<{.out_channels = 64, .bias = false}> | batch_norm | relu6)  //
    | global_avg_pool | flatten | dense<{.out_features = 10}> | softmax;

static_assert(net.output_shape() == stemshare::shape{10, 1, 1});
static_assert(net.size() == 7);
static_assert(net.branch_points()[3] == 15);

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const auto flags = parse_example_flags(argc, argv);
    if (!flags) return 2;
    const bool smoke = flags->smoke;
    const int threads = flags->threads;
    try {
        stemshare::graph g = net.to_graph();
        g.bind_random(/*seed=*/42);

        const std::int64_t batch = 1;
        stemshare::tensor<float> image(stemshare::dims{batch, 1, 28, 28});
        stemshare::fill_uniform(image.values(), /*seed=*/7, 0.0F, 1.0F);

        stemshare::onednn::compiled_graph model(g, {.batch = batch, .threads = threads});
        auto scores = model.run(image.view());
        const auto reference = stemshare::reference::run(g, image.view());
        float max_diff = 0;
        for (std::int64_t i = 0; i < scores.numel(); ++i)
            max_diff = std::max(max_diff, std::abs(scores[i] - reference[i]));

        const int runs = smoke ? 20 : 2000;
        std::vector<double> micros;
        for (int r = 0; r < runs; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            model.run(image.view(), scores.view());
            micros.push_back(
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
        }
        std::printf("model: %zu layers, %zu elements, %.2f MFLOP, %lld parameters\n", net.layer_count(),
                    net.size(), static_cast<double>(net.flops()) / 1e6,
                    static_cast<long long>(net.param_count()));
        std::printf("oneDNN plan (%d threads):\n", model.threads());
        for (const auto& s : model.steps()) std::printf("  %s\n", s.c_str());
        std::printf("latency: median %.1f us over %d runs (batch %lld)\n", median(micros), runs,
                    static_cast<long long>(batch));
        std::printf("max |oneDNN - reference| = %.3g\n", static_cast<double>(max_diff));
        const auto top =
            std::max_element(scores.values().begin(), scores.values().end()) - scores.values().begin();
        std::printf("top class of the random image: %lld (p = %.3f)\n", static_cast<long long>(top),
                    static_cast<double>(scores[top]));
        return max_diff < 1e-4F ? 0 : 1;
    } catch (const stemshare::error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
