#pragma once
/// \file
/// The model zoo by name, for tools and run-time callers: `zoo::make_graph("mobilenet_v1")`.
/// Compile-time callers use the chains themselves (`zoo::resnet50`, `zoo::resnet50_at<112>`).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/zoo/alexnet.hpp>
#include <stemshare/zoo/efficientnet_b0.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>
#include <stemshare/zoo/inception_v3.hpp>
#include <stemshare/zoo/mobilenet_v1.hpp>
#include <stemshare/zoo/mobilenet_v2.hpp>
#include <stemshare/zoo/mobilenet_v3.hpp>
#include <stemshare/zoo/resnet50.hpp>
#include <stemshare/zoo/vgg16.hpp>

namespace stemshare::zoo {

/// What the zoo knows of one model without building it.
struct model_info {
    std::string_view name;
    shape input;
    /// 2 x multiply-accumulates of one image.
    std::int64_t flops;
    /// Every weight, batch-norm running statistics included.
    std::int64_t params;
    graph (*make)();
};

namespace detail {
template <const auto& Chain>
graph lower() {
    return Chain.to_graph();
}
template <const auto& Chain>
constexpr model_info info(std::string_view name) {
    return {name, Chain.input_shape(), Chain.flops(), Chain.param_count(), &lower<Chain>};
}
}  // namespace detail

/// Every model of the zoo, in a fixed order.
inline constexpr std::array<model_info, 8> models = {detail::info<mobilenet_v1>("mobilenet_v1"),
                                                     detail::info<mobilenet_v2>("mobilenet_v2"),
                                                     detail::info<resnet50>("resnet50"),
                                                     detail::info<inception_v3>("inception_v3"),
                                                     detail::info<fashion_mobilenet>("fashion_mobilenet"),
                                                     detail::info<mobilenet_v3_large>("mobilenet_v3_large"),
                                                     detail::info<mobilenet_v3_small>("mobilenet_v3_small"),
                                                     detail::info<efficientnet_b0>("efficientnet_b0")};

/// The classic large-FC networks Masa schedules (AlexNet 244 MB, VGG-16 553 MB of f32 weights).
/// Kept apart from `models`, whose every entry the zoo's tests and benchmarks compile and time
/// whole; `find_model` and `make_graph` know both lists.
inline constexpr std::array<model_info, 2> classic_models = {detail::info<alexnet>("alexnet"),
                                                             detail::info<vgg16>("vgg16")};

/// "mobilenet_v1, mobilenet_v2, ...": for messages and command-line help.
[[nodiscard]] inline std::string model_names() {
    std::string names;
    for (const auto& m : models) names += (names.empty() ? "" : ", ") + std::string(m.name);
    for (const auto& m : classic_models) names += ", " + std::string(m.name);
    return names;
}

/// The model called `name`; throws `stemshare::error` listing the known names otherwise.
[[nodiscard]] inline const model_info& find_model(std::string_view name) {
    for (const auto& m : models)
        if (m.name == name) return m;
    for (const auto& m : classic_models)
        if (m.name == name) return m;
    throw error("zoo", "unknown model '" + std::string(name) + "'; known models: " + model_names());
}

/// The model's run-time graph with its branch points, weights unbound (`bind_random` or a loader
/// binds them).
[[nodiscard]] inline graph make_graph(std::string_view name) {
    return find_model(name).make();
}

}  // namespace stemshare::zoo
