#pragma once
// Small networks for the Masa tests: chains of a few segments each, so a whole run takes
// milliseconds, with the conv-then-fully-connected shape of the networks Masa schedules.

#include <unistd.h>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <stemshare/masa/network.hpp>
#include <stemshare/stemshare.hpp>

namespace stemshare::test {

using namespace stemshare::layers;

/// Three nets of clearly different sizes (exec time and bytes grow from tiny to big).
inline constexpr auto tiny_net = input<3, 16, 16> |
                                 block(conv2d<{.out_channels = 8, .kernel = 3, .padding = 1}> | relu) |
                                 block(dense<{.out_features = 32}> | relu) | dense<{.out_features = 10}>;
inline constexpr auto mid_net =
    input<3, 32, 32> | block(conv2d<{.out_channels = 16, .kernel = 3, .padding = 1}> | relu) |
    block(conv2d<{.out_channels = 32, .kernel = 3, .stride = 2, .padding = 1}> | relu) |
    block(dense<{.out_features = 256}> | relu) | dense<{.out_features = 10}>;
inline constexpr auto big_net =
    input<3, 64, 64> | block(conv2d<{.out_channels = 32, .kernel = 3, .padding = 1}> | relu) |
    block(conv2d<{.out_channels = 64, .kernel = 3, .stride = 2, .padding = 1}> | relu) |
    block(conv2d<{.out_channels = 64, .kernel = 3, .stride = 2, .padding = 1}> | relu) |
    block(dense<{.out_features = 256}> | relu) | block(dense<{.out_features = 256}> | relu) |
    dense<{.out_features = 10}>;

/// A scratch folder removed at scope exit.
struct scratch_dir {
    std::filesystem::path path;
    explicit scratch_dir(const std::string& tag)
        : path(std::filesystem::temp_directory_path() /
               ("stemshare-masa-" + tag + "-" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
};

inline masa::network prepare(const std::string& name, graph g, std::uint64_t seed, const scratch_dir& dir,
                             const masa::read_options& reads = {}) {
    g.bind_random(seed);
    return masa::network::prepare(name, g, dir.path / (name + ".safetensors"), reads, 1, 1);
}

/// tiny, mid and big, prepared in `dir`.
inline std::vector<masa::network> three_nets(const scratch_dir& dir) {
    std::vector<masa::network> nets;
    nets.push_back(prepare("tiny", tiny_net.to_graph(), 1, dir));
    nets.push_back(prepare("mid", mid_net.to_graph(), 2, dir));
    nets.push_back(prepare("big", big_net.to_graph(), 3, dir));
    return nets;
}

/// A conv stem of three blocks and a fully-connected head: the shape of apps fine-tuned from one
/// base with the convolutions frozen (layers 0..5).
inline constexpr auto stem_net =
    input<3, 32, 32> | block(conv2d<{.out_channels = 16, .kernel = 3, .padding = 1}> | relu) |
    block(conv2d<{.out_channels = 32, .kernel = 3, .stride = 2, .padding = 1}> | relu) |
    block(conv2d<{.out_channels = 32, .kernel = 3, .stride = 2, .padding = 1}> | relu) |
    block(dense<{.out_features = 128}> | relu) | dense<{.out_features = 10}>;

/// `apps` copies of `g` whose layers before `cut` carry one base's weights (byte-identical) and
/// whose later layers carry their own, prepared in `dir` as "<tag>0", "<tag>1", ...
inline std::vector<masa::network> stem_apps(const graph& g, std::size_t cut, int apps, std::uint64_t seed,
                                            const scratch_dir& dir, const std::string& tag = "app") {
    graph base = g;
    base.bind_random(seed);
    std::vector<masa::network> nets;
    for (int a = 0; a < apps; ++a) {
        graph app = g;
        app.bind_random(seed + 1 + static_cast<std::uint64_t>(a));
        for (std::size_t i = 0; i < cut; ++i) app.bind(i, base.at(i).params);
        const std::string name = tag + std::to_string(a);
        nets.push_back(masa::network::prepare(name, app, dir.path / (name + ".safetensors"), {}, 1, 1));
    }
    return nets;
}

inline std::vector<const masa::network*> pointers(const std::vector<masa::network>& nets) {
    std::vector<const masa::network*> out;
    for (const auto& n : nets) out.push_back(&n);
    return out;
}

inline tensor<float> input_for(const masa::network& net, std::uint64_t seed) {
    const shape in = net.skeleton().input_shape();
    tensor<float> x(dims{1, in.c, in.h, in.w});
    fill_uniform(x.values(), seed, -1.0F, 1.0F);
    return x;
}

inline bool same_bits(const tensor<float>& a, const tensor<float>& b) {
    if (!(a.extents() == b.extents())) return false;
    return std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.numel()) * sizeof(float)) == 0;
}

}  // namespace stemshare::test
