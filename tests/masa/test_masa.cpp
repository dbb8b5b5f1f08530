// Masa building blocks: AlexNet and VGG-16 in the zoo (published counts), the layer-granular
// weight file (pread, cold reads, emulated bandwidth, named errors), and the hard budget.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <stemshare/masa/arrivals.hpp>
#include <stemshare/masa/layer_store.hpp>
#include <stemshare/masa/memory_budget.hpp>
#include <stemshare/masa/mode.hpp>
#include <stemshare/masa/network_set.hpp>
#include <stemshare/zoo/zoo.hpp>

#include "masa/masa_test_models.hpp"
#include "support/error_of.hpp"

using namespace stemshare;

namespace {
constexpr bool near(std::int64_t count, double published, double tolerance) {
    const double diff = static_cast<double>(count) - published;
    return (diff < 0 ? -diff : diff) <= tolerance * published;
}
// Published: AlexNet (torchvision) 714 M MACs, 61.1 M parameters; VGG-16 15.47 G MACs, 138.4 M
// parameters. Neither has batch-norm, so parameters match to 0.5%.
static_assert(near(zoo::alexnet.flops() / 2, 714e6, 0.01));
static_assert(near(zoo::alexnet.param_count(), 61.1e6, 0.005));
static_assert(near(zoo::vgg16.flops() / 2, 15.47e9, 0.01));
static_assert(near(zoo::vgg16.param_count(), 138.36e6, 0.005));
static_assert(zoo::alexnet.output_shape() == shape{1000, 1, 1});
static_assert(zoo::vgg16.output_shape() == shape{1000, 1, 1});
}  // namespace

TEST_CASE("masa zoo: alexnet and vgg16 are found by name with their published MAC counts") {
    const auto& a = zoo::find_model("alexnet");
    CHECK(near(a.flops / 2, 714e6, 0.01));
    CHECK(near(a.params, 61.1e6, 0.005));
    const auto& v = zoo::find_model("vgg16");
    CHECK(near(v.flops / 2, 15.47e9, 0.01));
    CHECK(near(v.params, 138.36e6, 0.005));
    const graph g = zoo::make_graph("vgg16");
    CHECK(g.flops() == v.flops);
    // A branch point after every weighted layer: 13 convs + 3 dense -> 16 segments.
    CHECK(g.branch_points().size() == 17);
    CHECK(zoo::make_graph("alexnet").branch_points().size() == 9);
    CHECK(zoo::model_names().find("alexnet, vgg16") != std::string::npos);
}

TEST_CASE("masa layer_store: a segment read with pread equals the weights written, cold by default") {
    test::scratch_dir dir("store");
    graph g = test::mid_net.to_graph();
    g.bind_random(5);
    const auto store = masa::layer_store::write(g, dir.path / "mid.safetensors");
    REQUIRE(store.segments().size() == 4);
    std::uint64_t total = 0;
    for (std::size_t s = 0; s < store.segments().size(); ++s) {
        const auto& seg = store.segments()[s];
        const masa::segment_weights w = store.read(s);
        REQUIRE(w.size() == seg.end - seg.begin);
        for (std::size_t i = 0; i < w.size(); ++i) {
            const node& n = g.at(seg.begin + i);
            REQUIRE(w[i].size() == n.params.size());
            for (std::size_t p = 0; p < w[i].size(); ++p) CHECK(test::same_bits(w[i][p], n.params[p]));
        }
        total += seg.bytes();
    }
    CHECK(total == static_cast<std::uint64_t>(g.param_count()) * sizeof(float));
    CHECK(store.total_bytes() == total);
}

TEST_CASE("masa layer_store: the emulated bandwidth cap slows a read to bytes / bandwidth") {
    test::scratch_dir dir("bandwidth");
    graph g = test::mid_net.to_graph();
    g.bind_random(5);
    const auto store = masa::layer_store::write(g, dir.path / "mid.safetensors");
    const std::size_t s = 2;  // the 256-wide dense layer, about 2 MB
    const double bytes = static_cast<double>(store.segments()[s].bytes());
    const auto t0 = std::chrono::steady_clock::now();
    (void)store.read(s, {.cold = true, .bandwidth_bytes_per_s = bytes / 0.2});
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(took >= 0.2);
    CHECK(took < 2.0);
}

TEST_CASE("masa layer_store: reads at once share the emulated device, they do not each get its bandwidth") {
    test::scratch_dir dir("bandwidth-shared");
    graph g = test::mid_net.to_graph();
    g.bind_random(6);
    const auto store = masa::layer_store::write(g, dir.path / "mid.safetensors");
    const std::size_t s = 2;
    const double bytes = static_cast<double>(store.segments()[s].bytes());
    const masa::read_options slow{.cold = true, .bandwidth_bytes_per_s = bytes / 0.1};
    const auto t0 = std::chrono::steady_clock::now();
    std::thread other([&] { (void)store.read(s, slow); });
    (void)store.read(s, slow);
    other.join();
    // Two reads of 0.1 s each on one device: the later one ends no sooner than 0.2 s after both began.
    CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >= 0.2);
}

TEST_CASE("masa layer_store: a truncated or deleted file fails the read naming the file and segment") {
    test::scratch_dir dir("truncated");
    graph g = test::mid_net.to_graph();
    g.bind_random(5);
    const auto path = dir.path / "mid.safetensors";
    const auto store = masa::layer_store::write(g, path);
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 100);
    const std::string truncated = test::error_of([&] { (void)store.read(3); });
    CHECK(truncated.find("mid.safetensors") != std::string::npos);
    CHECK(truncated.find("segment 3") != std::string::npos);
    CHECK(truncated.find("truncated") != std::string::npos);
    CHECK_NOTHROW((void)store.read(0));  // the segments before the cut still read
    std::filesystem::remove(path);
    const std::string deleted = test::error_of([&] { (void)store.read(0); });
    CHECK(deleted.find("mid.safetensors' segment 0") != std::string::npos);
    CHECK(deleted.find("cannot open") != std::string::npos);
}

TEST_CASE("masa memory_budget: acquiring past the capacity throws and leaves the use unchanged") {
    masa::memory_budget b(1000);
    b.acquire(600);
    CHECK(b.fits(400));
    CHECK_FALSE(b.fits(401));
    CHECK(test::error_of([&] { b.acquire(401); }).find("would cross the budget") != std::string::npos);
    CHECK(b.used() == 600);
    b.release(600);
    CHECK(b.used() == 0);
    CHECK(b.peak() == 600);
    CHECK(test::error_of([&] { b.release(1); }).find("releasing") != std::string::npos);
    CHECK(masa::format_bytes(512ULL << 20) == "512.0 MB");
}

TEST_CASE("masa arrivals: batch, seeded Poisson and Normal gaps, and JSON lists with named errors") {
    const std::vector<std::string> names{"a", "b", "c"};
    const auto batch = masa::batch_arrivals(names, 2);
    REQUIRE(batch.size() == 6);
    CHECK(batch[4].network == "b");
    CHECK(std::all_of(batch.begin(), batch.end(), [](const auto& a) { return a.time_s == 0.0; }));

    const auto p1 = masa::poisson_arrivals(names, 4000, 10.0, 7);
    const auto p2 = masa::poisson_arrivals(names, 4000, 10.0, 7);
    REQUIRE(p1.size() == 4000);
    CHECK(p1.back().time_s == p2.back().time_s);  // seeded: the same trace
    CHECK(p1.back().time_s / 3999.0 == doctest::Approx(0.1).epsilon(0.1));
    const auto n = masa::normal_arrivals(names, 4000, 0.5, 0.5, 7);
    for (std::size_t i = 1; i < n.size(); ++i)
        REQUIRE(n[i].time_s >= n[i - 1].time_s);  // negative gaps clipped
    CHECK(n.back().time_s / 3999.0 > 0.5);        // clipping only lengthens the mean gap

    test::scratch_dir dir("arrivals");
    const auto good = dir.path / "good.json";
    std::ofstream(good) << R"([{"network": "alexnet", "time_s": 0}, {"network": "vgg16", "time_s": 1.5}])";
    const auto list = masa::read_arrivals(good);
    REQUIRE(list.size() == 2);
    CHECK(list[1].network == "vgg16");
    CHECK(list[1].time_s == 1.5);
    const auto bad = dir.path / "bad.json";
    std::ofstream(bad) << R"([{"network": "alexnet", "time_s": 0}, {"network": "vgg16", "time_s": -1}])";
    const std::string e = test::error_of([&] { (void)masa::read_arrivals(bad); });
    CHECK(e.find("bad.json' entry 1") != std::string::npos);
    CHECK(e.find("time_s") != std::string::npos);
    CHECK(test::error_of([&] {
              (void)masa::poisson_arrivals(names, 3, 0.0, 1);
          }).find("rate must be positive") != std::string::npos);
}

TEST_CASE(
    "masa network sets: every set names zoo networks or apps of one, an unknown set is an error naming "
    "them") {
    for (const auto& s : masa::network_sets()) {
        CAPTURE(std::string(s.name));
        CHECK(!s.networks.empty());
        if (!s.stem_model.empty()) {
            // A stem set's apps share a non-empty prefix of their model's segments.
            const graph g = zoo::make_graph(s.stem_model);
            CHECK(s.own_segments > 0);
            CHECK(s.own_segments + 1 < g.branch_points().size() - 1);
            continue;
        }
        for (const auto& n : s.networks) CHECK_NOTHROW((void)zoo::find_model(n));
    }
    CHECK(masa::find_network_set("all").networks.size() == 7);
    CHECK(test::error_of([] { (void)masa::find_network_set("huge-3"); }).find("known: small-3") !=
          std::string::npos);
}

TEST_CASE("masa modes: names parse back, unknown names are errors listing the known ones") {
    for (auto m : masa::all_modes) CHECK(masa::parse_mode(masa::to_string(m)) == m);
    CHECK(masa::parse_scheduler("sjf") == masa::scheduler_kind::sjf);
    CHECK(test::error_of([] { (void)masa::parse_mode("eager"); }).find("known: bulk, linear") !=
          std::string::npos);
}

TEST_CASE("onednn compiled_graph: weight_bytes is the size of the packed weights oneDNN allocated") {
    using namespace stemshare::layers;
    // Every channel count a multiple of 16: no blocked layout pads, so the packed size is the raw one.
    constexpr auto unpadded = input<16, 8, 8> | conv2d<{.out_channels = 32, .kernel = 3, .padding = 1}> |
                              relu | dense<{.out_features = 64}>;
    graph g = unpadded.to_graph();
    g.bind_random(5);
    std::uint64_t raw = 0;
    std::size_t tensors = 0;
    for (const node& n : g.nodes())
        for (const auto& p : n.params) {
            raw += static_cast<std::uint64_t>(p.numel()) * sizeof(float);
            ++tensors;
        }
    const onednn::compiled_graph exact(g, {.threads = 1});
    CHECK(exact.weight_bytes() == raw);
    CHECK(exact.weight_buffers() == tensors);
    // Three input channels and ten outputs: a blocked layout may pad them, never shrink them.
    constexpr auto odd = input<3, 8, 8> | conv2d<{.out_channels = 10, .kernel = 3, .padding = 1}> | relu |
                         dense<{.out_features = 7}>;
    graph h = odd.to_graph();
    h.bind_random(6);
    std::uint64_t odd_raw = 0;
    for (const node& n : h.nodes())
        for (const auto& p : n.params) odd_raw += static_cast<std::uint64_t>(p.numel()) * sizeof(float);
    const onednn::compiled_graph padded(h, {.threads = 1});
    CHECK(padded.weight_bytes() >= odd_raw);
    CHECK(padded.weight_buffers() == 4);
}
