#pragma once
/// \file
/// `segment_runner`: what the runtime needs from a backend, one compiled piece of a model (a
/// run of stem segments or an app's suffix) that maps a {1, c, h, w} plain input to a
/// {1, c', h', w'} plain output in caller-owned memory. A `runner_factory` compiles one from a
/// graph. Each backend's runner lives in the backend's folder: `onednn_runners()` in
/// backend/onednn/onednn_runner.hpp (the executor's default), `reference_runners()` in
/// backend/reference/reference_runner.hpp; tests may plug in instrumented runners.

#include <cstddef>
#include <functional>
#include <memory>

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

    /// Bytes of scratch memory (intermediate values, scratchpads) a run needs that the caller may
    /// provide (`use_workspace`); 0: the runner keeps its own.
    [[nodiscard]] virtual std::size_t workspace_bytes() const { return 0; }
    /// Runs in the caller's `bytes` (`workspace_bytes()` of them, aligned to a page) from now on;
    /// nullptr: in memory of its own again. Nothing in them outlives a run, so runners that never
    /// run at the same time may share one workspace. Called only between runs.
    virtual void use_workspace(std::byte* bytes) { (void)bytes; }
};

/// Compiles `g` for batch 1 with `threads` threads (0 = all cores). Called off the stream thread
/// while frames keep running, so it must not touch runners already in use.
using runner_factory = std::function<std::unique_ptr<segment_runner>(const graph& g, int threads)>;

}  // namespace stemshare::runtime
