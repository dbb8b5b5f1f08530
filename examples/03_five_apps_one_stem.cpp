// Five apps on one camera stream, fine-tuned from one base network with different frozen depths
// and frame rates. Nobody declares what is shared: the stem trie finds it from the weights, the
// runtime runs every shared stem once per frame and each app's own layers at its own rate, and
// an app is swapped while the stream runs. The compile-time chains also state, by static_assert,
// how much the apps can share; the trie confirms it from fingerprints.
// Usage: 03_five_apps_one_stem [--smoke] [--threads N (default 1; 0 = all cores)] [--frames N]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <stemshare/runtime/executor.hpp>
#include <stemshare/stem/structural_prefix.hpp>
#include <stemshare/stemshare.hpp>

#include "example_args.hpp"

namespace {

using namespace stemshare::layers;
using stemshare::input;

// A small MobileNet-style body for 28x28 grey frames; every block is a branch point.
template <std::int64_t C, std::int64_t S>
inline constexpr auto separable =
    block(depthwise_conv2d<{.kernel = 3, .stride = S, .padding = 1, .bias = false}> | batch_norm | relu6 |
          conv2d<{.out_channels = C, .bias = false}> | batch_norm | relu6);
inline constexpr auto body =
    block(conv2d<{.out_channels = 16, .kernel = 3, .padding = 1, .bias = false}> | batch_norm | relu6) |
    separable<32, 2> | separable<32, 1> | separable<64, 2> | separable<64, 1> | global_avg_pool | flatten;

// The base task (10 clothing classes) and the binary detectors fine-tuned from it.
constexpr auto clothing_net = input<1, 28, 28> | body | dense<{.out_features = 10}>;
constexpr auto detector_net = input<1, 28, 28> | body | dense<{.out_features = 2}>;

// Compile time: everything but the classifier can be shared between the two kinds of app.
constexpr std::size_t structural = stemshare::stem::structural_prefix(clothing_net, detector_net);
static_assert(structural == clothing_net.layer_count() - 1);
static_assert(clothing_net.branch_points()[4] == 21);  // after the third separable block

struct app_plan {
    const char* name;
    bool binary;
    std::size_t k;  // frozen layers
    double fps;
};

// Branch points: 0, 3, 9, 15, 21, 27, 28, 29 (then the classifier).
const std::vector<app_plan> apps = {
    {"clothing", false, 29, 15.0},  // the base task itself: everything but the classifier frozen
    {"bag", true, 29, 15.0},       {"sneaker", true, 29, 5.0},
    {"person", true, 21, 15.0},  // last block and classifier fine-tuned
    {"package", true, 9, 3.0},   // three blocks fine-tuned
};

/// The base network's weights for the first k layers, the app's own after.
stemshare::graph app_model(const stemshare::graph& base, bool binary, std::size_t k, std::uint64_t seed) {
    stemshare::graph g = binary ? detector_net.to_graph() : clothing_net.to_graph();
    g.bind_random(seed);
    for (std::size_t i = 0; i < k; ++i) g.bind(i, base.nodes()[i].params);
    return g;
}

}  // namespace

int main(int argc, char** argv) {
    bool smoke = false;
    // One thread unless told: on a 2-core box shared with other work, OpenMP's spinning barrier
    // can make two threads far slower than one (docs/architecture.md, "Toolchain facts").
    int threads = 1;
    std::uint64_t frames = 150;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--smoke") == 0)
            smoke = true;
        else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            const auto value = parse_whole_number<int>("--threads", argv[++i]);
            if (!value) return 2;
            threads = *value;
        } else if (std::strcmp(argv[i], "--frames") == 0 && i + 1 < argc) {
            const auto value = parse_whole_number<std::uint64_t>("--frames", argv[++i]);
            if (!value) return 2;
            frames = *value;
        } else {
            std::fprintf(stderr, "usage: %s [--smoke] [--threads N] [--frames N]\n", argv[0]);
            return 2;
        }
    }
    if (smoke) frames = 45;
    namespace rt = stemshare::runtime;
    try {
        stemshare::graph base = clothing_net.to_graph();
        base.bind_random(/*seed=*/1);

        rt::executor stream({.input = {1, 28, 28}, .stream_fps = 15.0, .threads = threads});
        std::map<std::string, stemshare::graph> models;
        std::uint64_t seed = 100;
        for (const app_plan& a : apps) {
            models.emplace(a.name, app_model(base, a.binary, a.k, seed++));
            stream.add_app(
                a.name, models.at(a.name),
                {.num_frozen = a.k,
                 .fps = a.fps,
                 .decision = a.binary ? rt::decision_rule::above(0.0F, 1) : rt::decision_rule::argmax()});
        }

        const auto trie = stream.trie();
        const std::size_t confirmed = trie.shared_layers("clothing", "bag");
        std::printf("compile time: clothing and detector chains share %zu of %zu layers structurally\n",
                    structural, clothing_net.layer_count());
        std::printf("run time: fingerprints share %zu layers between 'clothing' and 'bag'%s\n", confirmed,
                    confirmed == structural ? " (confirmed)" : " (MISMATCH)");
        if (confirmed != structural) return 1;

        const auto report = stream.report();
        std::printf(
            "trie: %zu nodes for %zu apps, %zu shared; per frame %.2f of %.2f MFLOP saved; %.1f KB of "
            "weights "
            "saved\n",
            report.nodes, report.apps, report.shared_nodes, static_cast<double>(report.flops_saved) / 1e6,
            static_cast<double>(report.flops_saved + report.stem_flops + report.suffix_flops) / 1e6,
            static_cast<double>(report.bytes_saved) / 1024.0);
        std::printf("plan v%llu (stream 15 fps):\n%s", static_cast<unsigned long long>(stream.plan_version()),
                    stream.plan()->describe().c_str());

        std::map<std::string, std::uint64_t> processed;
        std::map<std::string, std::uint64_t> positives;
        std::uint64_t stem_runs = 0;
        std::uint64_t frames_with_stem = 0;
        stemshare::tensor<float> frame(stemshare::dims{1, 1, 28, 28});
        const auto t0 = std::chrono::steady_clock::now();
        for (std::uint64_t n = 0; n < frames; ++n) {
            if (n == frames / 3) {
                stream.set_fps("package", 15.0);  // hot-swap: the package detector now watches every frame
                std::printf("frame %llu: 'package' set to 15 fps (plan v%llu)\n",
                            static_cast<unsigned long long>(n),
                            static_cast<unsigned long long>(stream.plan_version()));
            }
            if (n == 2 * frames / 3) {
                stream.remove_app("sneaker");
                std::printf("frame %llu: 'sneaker' removed (plan v%llu)\n",
                            static_cast<unsigned long long>(n),
                            static_cast<unsigned long long>(stream.plan_version()));
            }
            stemshare::fill_uniform(frame.values(), n, 0.0F, 1.0F);
            const rt::frame_result& r = stream.process(frame.view());
            stem_runs += r.stem_runs;
            frames_with_stem += r.stem_runs > 0 ? 1 : 0;
            for (const rt::app_result& a : r.apps) {
                if (!a.processed) continue;
                ++processed[std::string(a.app)];
                positives[std::string(a.app)] += a.decision == (a.app == "clothing" ? 0 : 1) ? 1 : 0;
            }
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%llu frames in %.1f ms (%.0f fps), %llu stem step runs, %.2f per frame\n",
                    static_cast<unsigned long long>(stream.frames()), seconds * 1e3,
                    static_cast<double>(frames) / seconds, static_cast<unsigned long long>(stem_runs),
                    static_cast<double>(stem_runs) / static_cast<double>(frames));
        for (const app_plan& a : apps)
            std::printf("  %-9s k=%2zu  processed %3llu frames, decision %s on %llu\n", a.name, a.k,
                        static_cast<unsigned long long>(processed[a.name]), a.binary ? "positive" : "class 0",
                        static_cast<unsigned long long>(positives[a.name]));

        // Each app alone must give what it gave inside the shared plan (to rounding).
        stemshare::fill_uniform(frame.values(), 999, 0.0F, 1.0F);
        const rt::frame_result& shared = stream.process(frame.view());
        for (const auto& a : shared.apps) {
            if (!a.processed) continue;
            stemshare::onednn::compiled_graph alone(models.at(std::string(a.app)),
                                                    {.batch = 1, .threads = threads});
            const auto expected = alone.run(frame.view());
            float gap = 0;
            for (std::size_t i = 0; i < a.scores.size(); ++i)
                gap = std::max(gap, std::abs(a.scores[i] - expected[static_cast<std::int64_t>(i)]));
            if (gap > 1e-4F) {
                std::fprintf(stderr, "app '%s' differs from its model run alone by %g\n",
                             std::string(a.app).c_str(), static_cast<double>(gap));
                return 1;
            }
        }
        std::printf("every app matches its own model run alone\n");
        return frames_with_stem == frames ? 0 : 1;
    } catch (const stemshare::error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
