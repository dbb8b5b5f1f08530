#pragma once
/// \file
/// `segment_runner`: what the runtime needs from a backend, one compiled piece of a model (a
/// run of stem segments or an app's suffix) that maps a {1, c, h, w} plain input to a
/// {1, c', h', w'} plain output in caller-owned memory. A `runner_factory` compiles one from a
/// graph; the default uses oneDNN, tests may plug in the reference backend or instrumented runners.

#include <functional>
#include <memory>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/backend/reference/executor.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/tensor_view.hpp>

namespace stemshare::runtime {

class segment_runner {
public:
    segment_runner() = default;
    segment_runner(const segment_runner&) = delete;
    segment_runner& operator=(const segment_runner&) = delete;
    virtual ~segment_runner() = default;

    /// Runs one frame. `src` and `dst` are plain, batch 1, and stay valid during the call only.
    virtual void run(tensor_view<const float> src, tensor_view<float> dst) = 0;
};

/// Compiles `g` for batch 1 with `threads` threads (0 = all cores). Called off the stream thread
/// while frames keep running, so it must not touch runners already in use.
using runner_factory = std::function<std::unique_ptr<segment_runner>(const graph& g, int threads)>;

/// oneDNN primitives (onednn::compiled_graph).
class onednn_runner final : public segment_runner {
public:
    onednn_runner(const graph& g, int threads) : compiled_(g, {.batch = 1, .threads = threads}) {}
    void run(tensor_view<const float> src, tensor_view<float> dst) override { compiled_.run(src, dst); }

private:
    onednn::compiled_graph compiled_;
};

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

[[nodiscard]] inline runner_factory onednn_runners() {
    return [](const graph& g, int threads) -> std::unique_ptr<segment_runner> {
        return std::make_unique<onednn_runner>(g, threads);
    };
}

[[nodiscard]] inline runner_factory reference_runners() {
    return [](const graph& g, int) -> std::unique_ptr<segment_runner> {
        return std::make_unique<reference_runner>(g);
    };
}

}  // namespace stemshare::runtime
