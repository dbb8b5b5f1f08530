#pragma once
/// \file
/// `masa::network_set`: named sets of zoo networks in the spirit of EdgeCaffe's (small-3,
/// mixed-3, large-3, all). Ours are the zoo's models: f32 weights from 0.2 MB (fashion_mobilenet)
/// to 553 MB (VGG-16), where EdgeCaffe's Caffe nets span 150 MB to 1.7 GB.

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <stemshare/core/error.hpp>

namespace stemshare::masa {

struct network_set {
    std::string_view name;
    std::vector<std::string> networks;
};

[[nodiscard]] inline std::vector<network_set> network_sets() {
    return {
        {"small-3", {"fashion_mobilenet", "mobilenet_v2", "mobilenet_v1"}},
        {"mixed-3", {"mobilenet_v2", "resnet50", "alexnet"}},
        {"large-3", {"inception_v3", "alexnet", "vgg16"}},
        {"all",
         {"fashion_mobilenet", "mobilenet_v1", "mobilenet_v2", "resnet50", "inception_v3", "alexnet",
          "vgg16"}},
    };
}

/// The set called `name`; throws naming the known sets otherwise.
[[nodiscard]] inline network_set find_network_set(std::string_view name) {
    for (auto& s : network_sets())
        if (s.name == name) return s;
    throw error("masa network set",
                "unknown set '" + std::string(name) + "'; known: small-3, mixed-3, large-3, all");
}

}  // namespace stemshare::masa
