#pragma once
/// \file
/// `reference_runner`: the runtime's `segment_runner` on the naive reference kernels, and
/// `reference_runners()`, its factory (tests use it as the oracle of shared execution). In
/// namespace `stemshare::runtime`, beside the interface it implements.

#include <algorithm>
#include <memory>

#include <stemshare/backend/reference/executor.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/runtime/segment_runner.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::runtime {

/// The naive reference kernels: slow, allocates per run, but independent of how a model is cut.
class reference_runner final : public segment_runner {
public:
    explicit reference_runner(const graph& g) : graph_(g) {}
    void run(tensor_view<const float> src, tensor_view<float> dst) override {
        const tensor<float> out = reference::run(graph_, src);
        std::copy_n(out.data(), out.numel(), dst.data());
    }

private:
    graph graph_;
};

/// Runs every segment on the reference kernels (the thread count is ignored).
[[nodiscard]] inline runner_factory reference_runners() {
    return [](const graph& g, int) -> std::unique_ptr<segment_runner> {
        return std::make_unique<reference_runner>(g);
    };
}

}  // namespace stemshare::runtime
