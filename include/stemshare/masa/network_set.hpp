#pragma once
/// \file
/// `masa::network_set`: named sets of zoo networks in the spirit of EdgeCaffe's (small-3,
/// mixed-3, large-3, all). Ours are the zoo's models: f32 weights from 0.2 MB (fashion_mobilenet)
/// to 553 MB (VGG-16), where EdgeCaffe's Caffe nets span 150 MB to 1.7 GB. The stem sets are
/// three apps of one zoo model sharing a frozen prefix, for the stem-aware mode.

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <stemshare/core/error.hpp>

namespace stemshare::masa {

struct network_set {
    std::string_view name;
    std::vector<std::string> networks;
    /// A stem set's zoo model: its networks are apps made from it that share every weight but
    /// those of their last `own_segments` segments (as apps fine-tuned from one base with that
    /// prefix frozen). Empty for the sets of distinct zoo models.
    std::string stem_model;
    std::size_t own_segments = 0;
};

[[nodiscard]] inline std::vector<network_set> network_sets() {
    return {
        {"small-3", {"fashion_mobilenet", "mobilenet_v2", "mobilenet_v1"}, "", 0},
        {"mixed-3", {"mobilenet_v2", "resnet50", "alexnet"}, "", 0},
        {"large-3", {"inception_v3", "alexnet", "vgg16"}, "", 0},
        {"all",
         {"fashion_mobilenet", "mobilenet_v1", "mobilenet_v2", "resnet50", "inception_v3", "alexnet",
          "vgg16"},
         "",
         0},
        {"stem-resnet50", {"resnet50-app0", "resnet50-app1", "resnet50-app2"}, "resnet50", 2},
        {"stem-fashion_mobilenet",
         {"fashion_mobilenet-app0", "fashion_mobilenet-app1", "fashion_mobilenet-app2"},
         "fashion_mobilenet",
         2},
        {"stem-mobilenet_v2",
         {"mobilenet_v2-app0", "mobilenet_v2-app1", "mobilenet_v2-app2"},
         "mobilenet_v2",
         2},
    };
}

/// The set called `name`; throws naming the known sets otherwise.
[[nodiscard]] inline network_set find_network_set(std::string_view name) {
    for (auto& s : network_sets())
        if (s.name == name) return s;
    throw error("masa network set", "unknown set '" + std::string(name) +
                                        "'; known: small-3, mixed-3, large-3, all, stem-resnet50, "
                                        "stem-fashion_mobilenet, stem-mobilenet_v2");
}

}  // namespace stemshare::masa
