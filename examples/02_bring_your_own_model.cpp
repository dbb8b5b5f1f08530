// Bring your own model: load a PyTorch model exported to ONNX, run it with oneDNN, print the
// answer and, when given the PyTorch output, how far stemshare's answer is from it.
// Usage: 02_bring_your_own_model [--smoke] [model.onnx [input.npy [expected.npy]]] [--threads N]
// With no model (or --smoke) it runs the committed fixture tests/data/fixtures/mobilenet_v2_64.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <stemshare/stemshare.hpp>

#include "example_args.hpp"

#if defined(STEMSHARE_WITH_ONNX)
#include <stemshare/io/npy.hpp>
#include <stemshare/io/onnx_import.hpp>
#endif

int main(int argc, char** argv) {
#if !defined(STEMSHARE_WITH_ONNX)
    (void)argc;
    (void)argv;
    std::printf("stemshare was built without ONNX support (STEMSHARE_WITH_ONNX=OFF); nothing to do\n");
    return 0;
#else
    bool smoke = false;
    int threads = 0;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--smoke") == 0)
            smoke = true;
        else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            const auto value = parse_whole_number<int>("--threads", argv[++i]);
            if (!value) return 2;
            threads = *value;
        } else
            files.emplace_back(argv[i]);
    }
    const std::filesystem::path fixtures =
        std::filesystem::path(STEMSHARE_SOURCE_DIR) / "tests" / "data" / "fixtures";
    if (files.empty())
        files = {(fixtures / "mobilenet_v2_64.onnx").string(),
                 (fixtures / "mobilenet_v2_64.input.npy").string(),
                 (fixtures / "mobilenet_v2_64.output.npy").string()};
    try {
        // 1. Import: every layer checked, every weight bound; unsupported ops are named.
        const stemshare::graph g = stemshare::io::load_onnx(files[0]);
        const stemshare::shape in = g.input_shape();
        std::printf("%s: %zu layers, %.2f MFLOP per image, %lld parameters, input %s -> output %s\n",
                    files[0].c_str(), g.size(), static_cast<double>(g.flops()) / 1e6,
                    static_cast<long long>(g.param_count()), to_string(in).c_str(),
                    to_string(g.output_shape()).c_str());

        // 2. An input: the given .npy batch, or one seeded random image.
        stemshare::tensor<float> x;
        if (files.size() > 1) {
            x = stemshare::io::load_npy(files[1]);
        } else {
            x = stemshare::tensor<float>(stemshare::dims{1, in.c, in.h, in.w});
            stemshare::fill_uniform(x.values(), /*seed=*/7, -1.0F, 1.0F);
        }
        const std::int64_t batch = x.extents()[0];

        // 3. Run with oneDNN (batch-norms folded, post-ops fused).
        stemshare::onednn::compiled_graph model(g, {.batch = batch, .threads = threads});
        const stemshare::tensor<float> y = model.run(x.view());
        const std::int64_t classes = y.numel() / batch;
        for (std::int64_t b = 0; b < batch; ++b) {
            const float* row = y.data() + b * classes;
            const auto top = std::max_element(row, row + classes) - row;
            std::printf("image %lld: top class %lld (score %.4f)\n", static_cast<long long>(b),
                        static_cast<long long>(top), static_cast<double>(row[top]));
        }

        // 4. Compare with PyTorch's answer when we have it.
        int status = 0;
        if (files.size() > 2) {
            const stemshare::tensor<float> expected = stemshare::io::load_npy(files[2]);
            float err = expected.numel() == y.numel() ? 0.0F : INFINITY;
            float scale = 1.0F;
            for (std::int64_t i = 0; i < std::min(y.numel(), expected.numel()); ++i) {
                err = std::max(err, std::abs(y[i] - expected[i]));
                scale = std::max(scale, std::abs(expected[i]));
            }
            std::printf("max |stemshare - PyTorch| = %.3g (tolerance %.3g)\n", static_cast<double>(err),
                        1e-5 * static_cast<double>(scale));
            status = err <= 1e-5F * scale ? 0 : 1;
        }

        const int runs = smoke ? 5 : 200;
        std::vector<double> ms;
        for (int r = 0; r < runs; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            (void)model.run(x.view());
            ms.push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        std::printf("oneDNN latency: median %.3f ms per batch of %lld over %d runs (%d threads)\n",
                    ms[ms.size() / 2], static_cast<long long>(batch), runs, model.threads());
        return status;
    } catch (const stemshare::error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
#endif
}
