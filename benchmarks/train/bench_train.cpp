// Training throughput: one SGD-momentum step (forward in training mode, softmax cross-entropy,
// backward, update) on a fixed random batch, batch-norm on batch statistics (PyTorch's train()).
//   fashion_mobilenet_full   the whole 28x28 fashion_mobilenet, batch 64
//   mobilenet_v2_suffix      MobileNetV2 at 224 from branch point 120 (blocks 15-18 + head: the
//                            first 80% of the layers frozen, their outputs cached), batch 32
//   resnet50_last_stage      ResNet-50 from branch point 140 (the last stage + head), batch 32
//   mobilenet_v3_large_suffix
//                            MobileNetV3-Large at 224 from branch point 148 (the last two bneck
//                            blocks, 5x5 depthwise with hard-swish and hard-sigmoid squeeze-and-
//                            excitation, + head: the first 80% of the layers frozen), batch 32
// at 1 and 2 threads. Counter images_per_s = images per wall-clock second; real time (OpenMP).
// Run: OMP_WAIT_POLICY=active bench_train --benchmark_min_time=2 --benchmark_format=json
//      (and benchmarks/train/bench_train_torch.py for PyTorch, in the same session)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include <stemshare/tensor/fill.hpp>
#include <stemshare/train/initialise.hpp>
#include <stemshare/train/loss.hpp>
#include <stemshare/train/network.hpp>
#include <stemshare/train/sgd.hpp>
#include <stemshare/zoo/zoo.hpp>

namespace {

using namespace stemshare;

void train_steps(benchmark::State& state, const char* model, std::size_t first_layer, std::int64_t batch) {
    const int threads = static_cast<int>(state.range(0));
    graph full = zoo::make_graph(model);
    graph g = full.slice(first_layer, full.size());
    train::initialise(g, 1);
    train::network net(std::move(g),
                       {.batch_norm = train::batch_norm_mode::batch_statistics, .threads = threads});
    const shape in = net.model().input_shape();
    tensor<float> x(dims{batch, in.c, in.h, in.w});
    fill_uniform(x.values(), 2, -1.0F, 1.0F);
    const std::int64_t classes = net.model().output_shape().numel();
    std::vector<std::int32_t> labels;
    for (std::int64_t i = 0; i < batch; ++i) labels.push_back(static_cast<std::int32_t>(i % classes));
    train::sgd optimiser({.learning_rate = 1e-3F});
    tensor<float> grad;
    const auto step = [&] {
        benchmark::DoNotOptimize(train::softmax_cross_entropy(net.forward(x, true), labels, grad));
        net.backward(grad);
        optimiser.step(net, 1e-3F);
    };
    step();  // plans and JIT-compiles the primitives
    step();
    for (auto _ : state) step();
    state.counters["images_per_s"] =
        benchmark::Counter(static_cast<double>(batch * state.iterations()), benchmark::Counter::kIsRate);
    state.SetLabel(std::string(model) + " from layer " + std::to_string(first_layer) + ", batch " +
                   std::to_string(batch));
}

void BM_Train_fashion_mobilenet_full(benchmark::State& state) {
    train_steps(state, "fashion_mobilenet", 0, 64);
}
void BM_Train_mobilenet_v2_suffix(benchmark::State& state) {
    train_steps(state, "mobilenet_v2", 120, 32);
}
void BM_Train_resnet50_last_stage(benchmark::State& state) {
    train_steps(state, "resnet50", 140, 32);
}
void BM_Train_mobilenet_v3_large_suffix(benchmark::State& state) {
    train_steps(state, "mobilenet_v3_large", 148, 32);
}

}  // namespace

BENCHMARK(BM_Train_fashion_mobilenet_full)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Train_mobilenet_v2_suffix)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Train_resnet50_last_stage)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Train_mobilenet_v3_large_suffix)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
