#pragma once
// Shared helpers of the io tests: fixture paths, scratch folders, raw file writing, error capture
// and the reference models (as compile-time chains and a run-time builder) matching the PyTorch
// fixtures written by tools/fixtures/export_fixtures.py.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include <stemshare/stemshare.hpp>

namespace io_test {

inline std::filesystem::path fixture(const std::string& name) {
    return std::filesystem::path(STEMSHARE_FIXTURES_DIR) / name;
}

/// A fresh, empty folder under the system temp dir, removed when the object goes away.
class scratch_dir {
public:
    scratch_dir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("stemshare_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
inline std::string read_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The message of the stemshare::error `f` throws, or "" when it throws nothing.
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const stemshare::error& e) {
        return e.what();
    }
    return "";
}

inline float max_abs_diff(const stemshare::tensor<float>& a, const stemshare::tensor<float>& b) {
    if (a.numel() != b.numel()) return INFINITY;
    float m = 0;
    for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return m;
}
inline float max_abs(const stemshare::tensor<float>& a) {
    float m = 0;
    for (float v : a.values()) m = std::max(m, std::abs(v));
    return m;
}
/// Parity tolerance against PyTorch: 1e-5 absolute, relative to the output's scale when it is
/// above 1 (f32 sums over thousands of terms in another order differ in the last bits).
inline float parity_tolerance(const stemshare::tensor<float>& expected) {
    return 1e-5F * std::max(1.0F, max_abs(expected));
}

using namespace stemshare::layers;
using stemshare::input;

/// tests/data/fixtures/net28: the model of examples/01_build_and_run.cpp.
constexpr auto net28 =
    input<1, 28, 28>  //
    | block(conv2d<{.out_channels = 16, .kernel = 3, .stride = 2, .padding = 1, .bias = false}> | batch_norm |
            relu6)  //
    | block(depthwise_conv2d<{.kernel = 3, .padding = 1, .bias = false}> | batch_norm | relu6 |
            conv2d<{.out_channels = 32, .bias = false}> | batch_norm | relu6)  //
    | block(depthwise_conv2d<{.kernel = 3, .stride = 2, .padding = 1, .bias = false}> | batch_norm | relu6 |
            conv2d<{.out_channels = 64, .bias = false}> | batch_norm | relu6)  //
    | global_avg_pool | flatten | dense<{.out_features = 10}> | softmax;

/// tests/data/fixtures/resnet_stack: a ResNet-18 stem, two BasicBlocks and a concat head.
constexpr auto resnet_stack =
    input<3, 32, 32>  //
    | conv2d<{.out_channels = 16, .kernel = 7, .stride = 2, .padding = 3, .bias = false}> | batch_norm |
    relu                                                    //
    | max_pool2d<{.kernel = 3, .stride = 2, .padding = 1}>  //
    | residual(conv2d<{.out_channels = 16, .kernel = 3, .padding = 1, .bias = false}> | batch_norm | relu |
               conv2d<{.out_channels = 16, .kernel = 3, .padding = 1, .bias = false}> | batch_norm)  //
    | relu                                                                                           //
    | residual(conv2d<{.out_channels = 32, .kernel = 3, .stride = 2, .padding = 1, .bias = false}> |
                   batch_norm | relu |
                   conv2d<{.out_channels = 32, .kernel = 3, .padding = 1, .bias = false}> | batch_norm,
               conv2d<{.out_channels = 32, .kernel = 1, .stride = 2, .bias = false}> | batch_norm)    //
    | relu                                                                                            //
    | avg_pool2d<{.kernel = 3, .stride = 2, .padding = 1, .count_include_pad = false}>                //
    | inception(conv2d<{.out_channels = 8}>, conv2d<{.out_channels = 8, .kernel = 3, .padding = 1}>)  //
    | flatten | dense<{.out_features = 10}>;

/// Chain layer name -> PyTorch module of resnet_stack's state_dict.
inline std::map<std::string, std::string> resnet_stack_modules() {
    return {{"0.conv2d", "conv1"},
            {"1.batch_norm", "bn1"},
            {"4.body.0.conv2d", "layer1.conv1"},
            {"4.body.1.batch_norm", "layer1.bn1"},
            {"4.body.3.conv2d", "layer1.conv2"},
            {"4.body.4.batch_norm", "layer1.bn2"},
            {"6.body.0.conv2d", "layer2.conv1"},
            {"6.body.1.batch_norm", "layer2.bn1"},
            {"6.body.3.conv2d", "layer2.conv2"},
            {"6.body.4.batch_norm", "layer2.bn2"},
            {"6.shortcut.0.conv2d", "layer2.downsample.0"},
            {"6.shortcut.1.batch_norm", "layer2.downsample.1"},
            {"9.branch0.0.conv2d", "branch_a"},
            {"9.branch1.0.conv2d", "branch_b"},
            {"11.dense", "head"}};
}

/// torchvision's MobileNetV2 (width 0.25, 10 classes) at 3x64x64 as a run-time graph whose layer
/// names are the PyTorch module names, so its state_dict binds by name with no table.
inline stemshare::graph mobilenet_v2_64() {
    using namespace stemshare;
    graph g(shape{3, 64, 64});
    auto divisible = [](double v) {
        std::int64_t n = std::max<std::int64_t>(8, static_cast<std::int64_t>(v + 4) / 8 * 8);
        if (static_cast<double>(n) < 0.9 * v) n += 8;
        return n;
    };
    auto conv_bn = [&](const std::string& prefix, value_id in, std::int64_t out, std::int64_t k,
                       std::int64_t s, std::int64_t groups, bool relu6) {
        value_id v = g.add(prefix + ".0",
                           conv2d_spec{.out_channels = out,
                                       .kernel = k,
                                       .stride = s,
                                       .padding = k / 2,
                                       .groups = groups,
                                       .bias = false},
                           {in});
        v = g.add(prefix + ".1", batch_norm_spec{}, {v});
        if (relu6) v = g.add(prefix + ".2", activation_spec{activation_kind::relu6}, {v});
        return v;
    };
    std::int64_t channels = divisible(32 * 0.25);
    value_id v = conv_bn("features.0", graph_input, channels, 3, 2, 1, true);
    const int settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int index = 1;
    for (const auto& [t, c, n, s] : settings) {
        const std::int64_t out = divisible(c * 0.25);
        for (int i = 0; i < n; ++i, ++index) {
            const std::string p = "features." + std::to_string(index) + ".conv";
            const std::int64_t stride = i == 0 ? s : 1;
            const std::int64_t hidden = channels * t;
            value_id x = v;
            int part = 0;
            if (t != 1) x = conv_bn(p + "." + std::to_string(part++), x, hidden, 1, 1, 1, true);
            x = conv_bn(p + "." + std::to_string(part++), x, hidden, 3, stride, hidden, true);
            x = g.add(p + "." + std::to_string(part++), conv2d_spec{.out_channels = out, .bias = false}, {x});
            x = g.add(p + "." + std::to_string(part++), batch_norm_spec{}, {x});
            if (stride == 1 && channels == out)
                x = g.add("features." + std::to_string(index) + ".add", add_spec{}, {x, v});
            v = x;
            channels = out;
        }
    }
    v = conv_bn("features.18", v, 1280, 1, 1, 1, true);
    v = g.add("pool", global_avg_pool_spec{}, {v});
    v = g.add("flatten", flatten_spec{}, {v});
    g.add("classifier.1", dense_spec{.out_features = 10}, {v});
    return g;
}

}  // namespace io_test
