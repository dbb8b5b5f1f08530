#pragma once
/// \file
/// The apps of the Fashion-MNIST experiment and the base model's task. The base model learns five
/// classes (t-shirt, trouser, pullover, dress, bag); every app detects classes the base never
/// saw (coat, sandal, shirt, sneaker, ankle boot, alone or grouped), so deeper fine-tuning has
/// something to learn, as with Mainstream's ImageNet base and its apps' own targets. The demo's,
/// not the installed library's.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <stemshare/core/error.hpp>

namespace stemshare::fashion {

/// A binary detector: "is one of `targets` in the frame".
struct app_task {
    std::string_view name;
    std::vector<std::int32_t> targets;

    [[nodiscard]] bool is_target(std::int32_t label) const {
        for (auto t : targets)
            if (t == label) return true;
        return false;
    }
};

/// Fashion-MNIST labels the base model trains on.
inline constexpr std::array<std::int32_t, 5> base_classes = {0, 1, 2, 3, 8};

/// The ten apps, in the order the experiment adds them (1 app, 2 apps, ...).
[[nodiscard]] inline std::vector<app_task> all_apps() {
    return {{"sneaker", {7}},      {"coat", {4}},           {"sandal", {5}},      {"shirt", {6}},
            {"ankle-boot", {9}},   {"footwear", {5, 7, 9}}, {"low-shoe", {5, 7}}, {"closed-shoe", {7, 9}},
            {"top-layer", {4, 6}}, {"strappy", {5, 9}}};
}

/// The app called `name`; throws listing the known names otherwise.
[[nodiscard]] inline app_task find_app(std::string_view name) {
    std::string known;
    for (auto& a : all_apps()) {
        if (a.name == name) return a;
        known += (known.empty() ? "" : ", ") + std::string(a.name);
    }
    throw error("app '" + std::string(name) + "'", "unknown; the experiment's apps are " + known);
}

}  // namespace stemshare::fashion
