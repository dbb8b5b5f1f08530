// Per-layer oneDNN throughput for the convolution shapes of MobileNetV1 (224) and ResNet-50 (224),
// batch 1, f32, at 1 and 2 threads. Counters:
//   layer_GFLOPs  the convolution primitive alone (as it runs inside a chain, without the reorders
//                 at the graph's two ends), from its median time over the iterations;
//   GFLOPs        the whole one-layer graph per wall-clock iteration (reorders included).
// BM_ShuffleUnit: a ShuffleNetV2 unit's data movement (channel slices, concat, channel shuffle)
// beside its convolutions.
// Run: bench_layers --benchmark_format=json --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include <stemshare/stemshare.hpp>

namespace {

using stemshare::conv2d_spec;
using stemshare::shape;

struct conv_case {
    const char* model;
    shape in;
    conv2d_spec spec;
};

// Distinct conv shapes of each model (depthwise = groups == channels).
const std::vector<conv_case>& cases() {
    static const std::vector<conv_case> all = {
        {"mobilenet_v1", {3, 224, 224}, {.out_channels = 32, .kernel = 3, .stride = 2, .padding = 1}},
        {"mobilenet_v1", {32, 112, 112}, {.out_channels = 32, .kernel = 3, .padding = 1, .groups = 32}},
        {"mobilenet_v1", {32, 112, 112}, {.out_channels = 64, .kernel = 1}},
        {"mobilenet_v1",
         {64, 112, 112},
         {.out_channels = 64, .kernel = 3, .stride = 2, .padding = 1, .groups = 64}},
        {"mobilenet_v1", {64, 56, 56}, {.out_channels = 128, .kernel = 1}},
        {"mobilenet_v1", {128, 56, 56}, {.out_channels = 128, .kernel = 1}},
        {"mobilenet_v1", {128, 28, 28}, {.out_channels = 256, .kernel = 1}},
        {"mobilenet_v1", {256, 14, 14}, {.out_channels = 512, .kernel = 1}},
        {"mobilenet_v1", {512, 14, 14}, {.out_channels = 512, .kernel = 1}},
        {"mobilenet_v1", {512, 14, 14}, {.out_channels = 512, .kernel = 3, .padding = 1, .groups = 512}},
        {"mobilenet_v1", {512, 7, 7}, {.out_channels = 1024, .kernel = 1}},
        {"mobilenet_v1", {1024, 7, 7}, {.out_channels = 1024, .kernel = 1}},
        {"resnet50", {3, 224, 224}, {.out_channels = 64, .kernel = 7, .stride = 2, .padding = 3}},
        {"resnet50", {64, 56, 56}, {.out_channels = 64, .kernel = 1}},
        {"resnet50", {64, 56, 56}, {.out_channels = 64, .kernel = 3, .padding = 1}},
        {"resnet50", {64, 56, 56}, {.out_channels = 256, .kernel = 1}},
        {"resnet50", {256, 56, 56}, {.out_channels = 128, .kernel = 1}},
        {"resnet50", {128, 56, 56}, {.out_channels = 128, .kernel = 3, .stride = 2, .padding = 1}},
        {"resnet50", {128, 28, 28}, {.out_channels = 128, .kernel = 3, .padding = 1}},
        {"resnet50", {512, 28, 28}, {.out_channels = 256, .kernel = 1}},
        {"resnet50", {256, 14, 14}, {.out_channels = 256, .kernel = 3, .padding = 1}},
        {"resnet50", {1024, 14, 14}, {.out_channels = 256, .kernel = 1}},
        {"resnet50", {256, 14, 14}, {.out_channels = 1024, .kernel = 1}},
        {"resnet50", {512, 7, 7}, {.out_channels = 512, .kernel = 3, .padding = 1}},
        {"resnet50", {2048, 7, 7}, {.out_channels = 512, .kernel = 1}},
    };
    return all;
}

void BM_Conv(benchmark::State& state, conv_case c) {
    const int threads = static_cast<int>(state.range(0));
    stemshare::graph g(c.in);
    g.add("conv", c.spec);
    g.bind_random(1);
    stemshare::onednn::compiled_graph model(g, {.batch = 1, .threads = threads});
    stemshare::tensor<float> src(stemshare::dims{1, c.in.c, c.in.h, c.in.w});
    stemshare::fill_uniform(src.values(), 2);
    const shape out = model.output_shape();
    stemshare::tensor<float> dst(stemshare::dims{1, out.c, out.h, out.w});
    const auto steps = model.steps();
    const auto conv_step =
        static_cast<std::size_t>(std::find_if(steps.begin(), steps.end(),
                                              [](const std::string& s) { return s.rfind("conv", 0) == 0; }) -
                                 steps.begin());
    for (int i = 0; i < 3; ++i) model.run(src.view(), dst.view());  // JIT and first-touch warm-up
    std::vector<double> conv_seconds;
    std::vector<double> timers(steps.size());
    for (auto _ : state) {
        std::fill(timers.begin(), timers.end(), 0.0);
        model.run_profiled(src.view(), dst.view(), timers);
        conv_seconds.push_back(timers[conv_step]);
    }
    std::sort(conv_seconds.begin(), conv_seconds.end());
    const auto flops = static_cast<double>(g.flops());
    state.counters["layer_GFLOPs"] = flops / conv_seconds[conv_seconds.size() / 2] / 1e9;
    state.counters["GFLOPs"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(steps[conv_step]);
}

// ShuffleNetV2 1.0x stride-1 units at torchvision's stage shapes, batch 1: split into halves
// (two channel slices), the right half through 1x1 -> depthwise 3x3 -> 1x1, concat, channel
// shuffle. Counters are medians over the iterations of each kind of step's summed time, in
// microseconds: the shuffle next to the concat, which moves the same bytes, and the convs.
void BM_ShuffleUnit(benchmark::State& state, shape in) {
    const int threads = static_cast<int>(state.range(0));
    const std::int64_t half = in.c / 2;
    stemshare::graph g(in);
    const auto left = g.add("left", stemshare::channel_slice_spec{0, half}, {stemshare::graph_input});
    const auto right = g.add("right", stemshare::channel_slice_spec{half, half}, {stemshare::graph_input});
    g.add("pw1", conv2d_spec{.out_channels = half}, {right});
    g.add("relu1", stemshare::activation_spec{stemshare::activation_kind::relu});
    g.add("dw", conv2d_spec{.out_channels = half, .kernel = 3, .padding = 1, .groups = half});
    g.add("pw2", conv2d_spec{.out_channels = half});
    const auto branch = g.add("relu2", stemshare::activation_spec{stemshare::activation_kind::relu});
    const auto cat = g.add("concat", stemshare::concat_spec{}, {left, branch});
    g.add("shuffle", stemshare::channel_shuffle_spec{2}, {cat});
    g.bind_random(1);
    stemshare::onednn::compiled_graph model(g, {.batch = 1, .threads = threads});
    stemshare::tensor<float> src(stemshare::dims{1, in.c, in.h, in.w});
    stemshare::fill_uniform(src.values(), 2);
    stemshare::tensor<float> dst(stemshare::dims{1, in.c, in.h, in.w});
    const auto steps = model.steps();
    const std::vector<std::string> kinds = {"channel shuffle", "channel slice", "concat", "conv"};
    const auto kind_of = [&](const std::string& step) {
        for (std::size_t k = 0; k < kinds.size(); ++k)
            if (step.rfind(kinds[k], 0) == 0) return k;
        return kinds.size();  // reorders at the graph's ends and of the input
    };
    for (int i = 0; i < 3; ++i) model.run(src.view(), dst.view());
    std::vector<std::vector<double>> per_kind(kinds.size() + 1);
    std::vector<double> timers(steps.size());
    for (auto _ : state) {
        std::fill(timers.begin(), timers.end(), 0.0);
        model.run_profiled(src.view(), dst.view(), timers);
        std::vector<double> sums(kinds.size() + 1, 0.0);
        for (std::size_t i = 0; i < steps.size(); ++i) sums[kind_of(steps[i])] += timers[i];
        for (std::size_t k = 0; k < sums.size(); ++k) per_kind[k].push_back(sums[k]);
    }
    const auto median_us = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2] * 1e6;
    };
    state.counters["shuffle_us"] = median_us(per_kind[0]);
    state.counters["slices_us"] = median_us(per_kind[1]);
    state.counters["concat_us"] = median_us(per_kind[2]);
    state.counters["convs_us"] = median_us(per_kind[3]);
    state.counters["other_us"] = median_us(per_kind[4]);
    const auto shuffle =
        std::find_if(steps.begin(), steps.end(), [&](const std::string& s) { return kind_of(s) == 0; });
    state.SetLabel(shuffle == steps.end() ? std::string("no shuffle step") : *shuffle);
}

const int registered = [] {
    for (const shape in : {shape{116, 28, 28}, shape{232, 14, 14}, shape{464, 7, 7}}) {
        const std::string name = "BM_ShuffleUnit/" + std::to_string(in.c) + "x" + std::to_string(in.h) + "x" +
                                 std::to_string(in.w);
        benchmark::RegisterBenchmark(name.c_str(), BM_ShuffleUnit, in)
            ->Arg(1)
            ->Arg(2)
            ->ArgName("threads")
            ->UseRealTime();
    }
    for (const auto& c : cases()) {
        const std::string name = std::string("BM_Conv/") + c.model + "/" + std::to_string(c.in.c) + "x" +
                                 std::to_string(c.in.h) + "x" + std::to_string(c.in.w) + "->" +
                                 std::to_string(c.spec.out_channels) + "/k" +
                                 std::to_string(c.spec.kernel.h) + "s" + std::to_string(c.spec.stride.h) +
                                 (c.spec.groups > 1 ? "/dw" : "");
        benchmark::RegisterBenchmark(name.c_str(), BM_Conv, c)
            ->Arg(1)
            ->Arg(2)
            ->ArgName("threads")
            ->UseRealTime();
    }
    return 0;
}();

}  // namespace

BENCHMARK_MAIN();
