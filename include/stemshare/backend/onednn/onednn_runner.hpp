#pragma once
/// \file
/// `onednn_runner`: the runtime's `segment_runner` on oneDNN primitives (a `compiled_graph` for
/// batch 1), and `onednn_runners()`, the factory the executor uses unless told otherwise. In
/// namespace `stemshare::runtime`, beside the interface it implements.

#include <cstddef>
#include <memory>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/runtime/segment_runner.hpp>
#include <stemshare/tensor/tensor_view.hpp>

namespace stemshare::runtime {

/// oneDNN primitives (onednn::compiled_graph).
class onednn_runner final : public segment_runner {
public:
    onednn_runner(const graph& g, int threads) : compiled_(g, {.batch = 1, .threads = threads}) {}
    void run(tensor_view<const float> src, tensor_view<float> dst) override { compiled_.run(src, dst); }
    [[nodiscard]] std::size_t workspace_bytes() const override { return compiled_.workspace_bytes(); }
    void use_workspace(std::byte* bytes) override { compiled_.use_workspace(bytes); }

private:
    onednn::compiled_graph compiled_;
};

/// Compiles every segment with oneDNN.
[[nodiscard]] inline runner_factory onednn_runners() {
    return [](const graph& g, int threads) -> std::unique_ptr<segment_runner> {
        return std::make_unique<onednn_runner>(g, threads);
    };
}

}  // namespace stemshare::runtime
