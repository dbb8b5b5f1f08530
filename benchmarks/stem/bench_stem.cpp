// BM_SharedStem: N apps fine-tuned from one base (MobileNetV2-224, ResNet-50) run by the runtime
// with 0%, ~80% (branch point nearest 80% of the FLOPs) or all but the classifier frozen and
// shared, against BM_Independent: N whole models compiled and run one after another.
//
// Every app processes every frame. The prediction is 1 / (stem latency + N x suffix latency),
// with the stem and one suffix compiled on their own (as the runtime compiles them) and timed in
// the same loop as the frames (see timed_loop for the counters). BM_SharedStemParallel runs the
// same deployments with suffix_mode::parallel (suffixes side by side, one thread each); its
// prediction is 1 / (stem + ceil(N / threads) x one-thread suffix), and it also runs the serial
// executor of the same apps in its loop (paired frames): speedup = serial / parallel frame time. Also: k and
// stem_flops_share (how much of one app's work is the stem), rss_mb = resident memory the deployment added
// (glibc is told to return freed memory at once, so the delta is what is live), model_mb = what one base
// + N suffixes weigh in f32 (N whole models for 0% and for BM_Independent).
//
// Example: STEMSHARE_BENCH_THREADS=1 bench_stem --benchmark_min_time=0.5 --benchmark_filter=mobilenet
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/graph/fold_batch_norms.hpp>
#include <stemshare/graph/redrawn_suffix.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/zoo/mobilenet_v2.hpp>
#include <stemshare/zoo/resnet50.hpp>

namespace {

using namespace stemshare;
using clock_type = std::chrono::steady_clock;

struct model_case {
    const char* name;
    graph (*make)();
};

const model_case model_cases[] = {
    {"mobilenet_v2", [] { return zoo::mobilenet_v2.to_graph(); }},
    {"resnet50", [] { return zoo::resnet50.to_graph(); }},
};

/// The base model, weights from seed 1, built once per model.
const graph& base_of(const model_case& m) {
    static std::map<std::string, graph> cache;
    auto it = cache.find(m.name);
    if (it == cache.end()) {
        graph g = m.make();
        g.bind_random(1);
        it = cache.emplace(m.name, std::move(g)).first;
    }
    return it->second;
}

/// Branch point for a share level: 0 -> 0, 100 -> all but the classifier, else the branch point
/// whose prefix holds the nearest share% of the model's FLOPs (how PyTorch-by-hand's ~80% is cut).
std::size_t branch_point_for(const graph& g, int share) {
    if (share == 0) return 0;
    if (share == 100) return g.size() - 1;
    const double target = static_cast<double>(share) / 100.0 * static_cast<double>(g.flops());
    const auto prefix_flops = [&](std::size_t k) {
        double sum = 0;
        for (std::size_t i = 0; i < k; ++i) sum += static_cast<double>(g.nodes()[i].flops());
        return sum;
    };
    std::size_t best = 0;
    for (std::size_t p : g.branch_points())
        if (p < g.size() && std::abs(prefix_flops(p) - target) < std::abs(prefix_flops(best) - target))
            best = p;
    return best;
}

tensor<float> input_frame(shape s) {
    tensor<float> t(dims{1, s.c, s.h, s.w});
    fill_uniform(t.values(), 7, 0.0F, 1.0F);
    return t;
}

/// Threads of every compiled model: STEMSHARE_BENCH_THREADS, default 0 (all cores).
int bench_threads() {
    const char* v = std::getenv("STEMSHARE_BENCH_THREADS");
    return v == nullptr ? 0 : std::atoi(v);
}

/// Seconds of CPU time the calling thread has used. With one OpenMP thread every primitive runs
/// on the calling thread, so this is the frame's compute time without the time another process
/// held the core (this machine is shared).
double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct seconds_pair {
    double wall = 0;
    double cpu = 0;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double rss_mb() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0.0;
}

/// One model piece compiled on its own, with its input and output, to time in the loop.
struct probe {
    std::unique_ptr<onednn::compiled_graph> compiled;
    tensor<float> in;
    tensor<float> out;

    explicit probe(const graph& g, int threads = bench_threads())
        : compiled(std::make_unique<onednn::compiled_graph>(g, onednn::compile_options{.threads = threads})),
          in(input_frame(g.input_shape())),
          out(dims{1, g.output_shape().c, g.output_shape().h, g.output_shape().w}) {
        for (int i = 0; i < 2; ++i) compiled->run(in.view(), out.view());
    }
    seconds_pair time_once() {
        const auto t0 = clock_type::now();
        const double c0 = thread_cpu_seconds();
        compiled->run(in.view(), out.view());
        return {std::chrono::duration<double>(clock_type::now() - t0).count(), thread_cpu_seconds() - c0};
    }
};

/// What one benchmark deploys, kept between the calls Google Benchmark makes while it picks an
/// iteration count, so the apps are compiled once per benchmark.
struct deployment {
    std::string key;
    double rss_mb = 0;
    double model_mb = 0;
    std::map<std::string, double> extra;
    std::unique_ptr<runtime::executor> shared;
    std::unique_ptr<runtime::executor> serial;  // BM_SharedStemParallel's baseline
    tensor<float> frame;
    std::vector<std::unique_ptr<onednn::compiled_graph>> models;
    std::vector<tensor<float>> outs;
    /// The prediction's pieces: predicted frame = stem + copies x piece.
    std::unique_ptr<probe> stem;
    std::unique_ptr<probe> piece;
    int copies = 0;
};

template <class Make>
deployment& deploy(const std::string& key, Make make) {
    static std::unique_ptr<deployment> current;
    if (!current || current->key != key) {
        current.reset();
        auto d = std::make_unique<deployment>();
        d->key = key;
        make(*d);
        current = std::move(d);
    }
    return *current;
}

/// The timed loop. Each iteration runs one frame (timed by the library and here, in wall and
/// thread-CPU seconds), then, with the library's timer paused, times the stem and one suffix on
/// their own: paired samples, so the machine's load drifts equally on both sides.
///
/// Counters: fps (wall, mean), fps_median (wall), fps_cpu (thread CPU, median; the one to read
/// with STEMSHARE_BENCH_THREADS=1 on a shared machine), predicted_fps / predicted_cpu_fps =
/// 1 / median(stem + N x suffix), ratio = fps_median / predicted_fps, ratio_cpu likewise.
template <class Frame>
void timed_loop(benchmark::State& state, deployment& d, Frame frame) {
    std::vector<double> wall;
    std::vector<double> cpu;
    std::vector<double> predicted_wall;
    std::vector<double> predicted_cpu;
    std::vector<double> serial;
    for (auto _ : state) {
        const auto t0 = clock_type::now();
        const double c0 = thread_cpu_seconds();
        frame();
        cpu.push_back(thread_cpu_seconds() - c0);
        wall.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
        state.PauseTiming();
        const seconds_pair stem = d.stem ? d.stem->time_once() : seconds_pair{};
        const seconds_pair piece = d.piece->time_once();
        predicted_wall.push_back(stem.wall + d.copies * piece.wall);
        predicted_cpu.push_back(stem.cpu + d.copies * piece.cpu);
        if (d.serial) {
            const tensor<float>& in = d.piece->in;  // any frame: every app runs on every frame
            (void)in;
            const auto s0 = clock_type::now();
            benchmark::DoNotOptimize(d.serial->process(d.frame.view()).apps.data());
            serial.push_back(std::chrono::duration<double>(clock_type::now() - s0).count());
        }
        state.ResumeTiming();
    }
    double total = 0;
    for (double t : wall) total += t;
    state.counters["fps"] = static_cast<double>(wall.size()) / total;
    state.counters["fps_median"] = 1.0 / median(wall);
    state.counters["fps_cpu"] = 1.0 / median(cpu);
    state.counters["predicted_fps"] = 1.0 / median(predicted_wall);
    state.counters["predicted_cpu_fps"] = 1.0 / median(predicted_cpu);
    state.counters["ratio"] = median(predicted_wall) / median(wall);
    state.counters["ratio_cpu"] = median(predicted_cpu) / median(cpu);
    if (!serial.empty()) {
        state.counters["serial_fps_median"] = 1.0 / median(serial);
        state.counters["speedup"] = median(serial) / median(wall);
    }
    state.counters["rss_mb"] = d.rss_mb;
    state.counters["model_mb"] = d.model_mb;
    for (const auto& [name, value] : d.extra) state.counters[name] = value;
}

void shared_stem(benchmark::State& state, const model_case& m, int share, int apps,
                 runtime::suffix_mode suffixes = runtime::suffix_mode::serial) {
    const graph& base = base_of(m);
    const std::size_t k = branch_point_for(base, share);
    const bool parallel = suffixes == runtime::suffix_mode::parallel;
    deployment& d = deploy(
        std::string(m.name) + (parallel ? "/parallel/" : "/shared/") + std::to_string(share) + "/" +
            std::to_string(apps),
        [&](deployment& out) {
            const double rss_before = rss_mb();
            out.shared =
                std::make_unique<runtime::executor>(runtime::executor_options{.input = base.input_shape(),
                                                                              .stream_fps = 30,
                                                                              .threads = bench_threads(),
                                                                              .suffixes = suffixes});
            for (int i = 0; i < apps; ++i)
                out.shared->add_app("app" + std::to_string(i),
                                    redrawn_suffix(base, k, 100 + static_cast<std::uint64_t>(i)),
                                    {.num_frozen = k});
            out.rss_mb = rss_mb() - rss_before;
            if (parallel) {
                out.serial = std::make_unique<runtime::executor>(runtime::executor_options{
                    .input = base.input_shape(), .stream_fps = 30, .threads = bench_threads()});
                for (int i = 0; i < apps; ++i)
                    out.serial->add_app("app" + std::to_string(i),
                                        redrawn_suffix(base, k, 100 + static_cast<std::uint64_t>(i)),
                                        {.num_frozen = k});
                out.frame = input_frame(base.input_shape());
            }
            if (k > 0) out.stem = std::make_unique<probe>(fold_batch_norms(base.slice(0, k)));
            const int workers = bench_threads() == 0 ? omp_get_num_procs() : bench_threads();
            out.piece = std::make_unique<probe>(redrawn_suffix(base, k, 100).slice(k, base.size()),
                                                parallel ? 1 : bench_threads());
            out.copies = parallel ? (apps + workers - 1) / workers : apps;
            const double base_mb = static_cast<double>(base.param_count()) * 4.0 / 1048576.0;
            const double suffix_mb =
                static_cast<double>(base.slice(k, base.size()).param_count()) * 4.0 / 1048576.0;
            out.model_mb = k == 0 ? apps * base_mb : base_mb + (apps - 1) * suffix_mb;
            const auto report = out.shared->report();
            out.extra["k"] = static_cast<double>(k);
            out.extra["stem_flops_share"] =
                static_cast<double>(report.stem_flops) /
                static_cast<double>(report.stem_flops + report.suffix_flops / apps);
        });
    const tensor<float> frame = input_frame(base.input_shape());
    for (int i = 0; i < 2; ++i) benchmark::DoNotOptimize(d.shared->process(frame.view()).apps.data());
    timed_loop(state, d, [&] { benchmark::DoNotOptimize(d.shared->process(frame.view()).apps.data()); });
}

void independent(benchmark::State& state, const model_case& m, int apps) {
    const graph& base = base_of(m);
    deployment& d =
        deploy(std::string(m.name) + "/independent/" + std::to_string(apps), [&](deployment& out) {
            const double rss_before = rss_mb();
            const shape o = base.output_shape();
            for (int i = 0; i < apps; ++i) {
                out.models.push_back(std::make_unique<onednn::compiled_graph>(
                    redrawn_suffix(base, 0, 100 + static_cast<std::uint64_t>(i)),
                    onednn::compile_options{.threads = bench_threads()}));
                out.outs.emplace_back(dims{1, o.c, o.h, o.w});
            }
            out.rss_mb = rss_mb() - rss_before;
            out.piece = std::make_unique<probe>(base);
            out.copies = apps;
            out.model_mb = apps * static_cast<double>(base.param_count()) * 4.0 / 1048576.0;
        });
    const tensor<float> frame = input_frame(base.input_shape());
    const auto run_all = [&] {
        for (std::size_t i = 0; i < d.models.size(); ++i) d.models[i]->run(frame.view(), d.outs[i].view());
    };
    run_all();
    timed_loop(state, d, run_all);
}

}  // namespace

int main(int argc, char** argv) {
    // Freed memory goes back to the system at once, so RSS deltas show what a deployment holds.
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024);
    for (const model_case& m : model_cases) {
        for (int share : {0, 80, 100})
            for (int apps : {1, 2, 5, 10})
                benchmark::RegisterBenchmark(
                    ("BM_SharedStem/" + std::string(m.name) + "/share:" + std::to_string(share) +
                     "/apps:" + std::to_string(apps))
                        .c_str(),
                    [&m, share, apps](benchmark::State& s) { shared_stem(s, m, share, apps); })
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
        for (int share : {0, 80, 100})
            for (int apps : {2, 5, 10})
                benchmark::RegisterBenchmark(
                    ("BM_SharedStemParallel/" + std::string(m.name) + "/share:" + std::to_string(share) +
                     "/apps:" + std::to_string(apps))
                        .c_str(),
                    [&m, share, apps](benchmark::State& s) {
                        shared_stem(s, m, share, apps, runtime::suffix_mode::parallel);
                    })
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
        for (int apps : {1, 2, 5, 10})
            benchmark::RegisterBenchmark(
                ("BM_Independent/" + std::string(m.name) + "/apps:" + std::to_string(apps)).c_str(),
                [&m, apps](benchmark::State& s) { independent(s, m, apps); })
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
