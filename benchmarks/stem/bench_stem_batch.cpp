// BM_StemBatch: what Ekya's cameras would gain by running the stem they share (docs/ekya.md,
// "Stem-aware retraining") once for all cameras' frames. fashion_mobilenet cut at the Ekya
// experiment's default stem (layer 21): the stem compiled at batch B (one frame per camera) against
// the stem, the suffix and the whole model at batch 1. Weights are seeded (the timing does not
// depend on their values); one thread. Counter frames_per_second = B frames per run.
//
// Example: bench_stem_batch --benchmark_repetitions=7 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/backend/onednn/threading.hpp>
#include <stemshare/train/initialise.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>

namespace {

using namespace stemshare;

constexpr std::size_t stem_end = 21;

const graph& model() {
    static const graph g = [] {
        graph m = zoo::fashion_mobilenet.to_graph();
        train::initialise(m, 1);
        return m;
    }();
    return g;
}

/// Runs `g` at batch `batch` on one thread; each run counts `batch` frames.
void run(benchmark::State& state, const graph& g, std::int64_t batch) {
    onednn::use_threads(1);
    onednn::compiled_graph compiled(g, {.batch = batch, .threads = 1});
    const shape in = g.input_shape(), out = g.output_shape();
    tensor<float> src(dims{batch, in.c, in.h, in.w}), dst(dims{batch, out.c, out.h, out.w});
    for (float& v : src.values()) v = 0.5F;
    for (auto _ : state) {
        compiled.run(src.view(), dst.view());
        benchmark::DoNotOptimize(dst.data());
    }
    state.counters["frames_per_second"] =
        benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_StemBatch(benchmark::State& state) {
    static const graph stem = model().slice(0, stem_end);
    run(state, stem, state.range(0));
}
void BM_Suffix(benchmark::State& state) {
    static const graph suffix = model().slice(stem_end, model().size());
    run(state, suffix, 1);
}
void BM_Whole(benchmark::State& state) {
    run(state, model(), 1);
}

BENCHMARK(BM_StemBatch)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();
BENCHMARK(BM_Suffix)->UseRealTime();
BENCHMARK(BM_Whole)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
