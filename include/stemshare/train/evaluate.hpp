#pragma once
/// \file
/// Inference for evaluation: run a graph over many images with oneDNN in batches, and turn the
/// predictions into accuracy or a binary detector's per-frame rates.

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/backend/onednn/threading.hpp>
#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::train {

/// Runs `g` (bound) over `inputs` {N, c, h, w} in batches of `batch` and returns {N, c', h', w'}.
/// The last partial batch is padded with zeros, so one compiled graph serves every batch.
/// `threads` = 0 keeps the caller's OpenMP thread count: oneDNN sets the process-wide count, and
/// raising it here would slow every later training GEMM on a loaded machine (OpenMP on 2 cores
/// under load: docs/architecture.md, "Toolchain facts").
[[nodiscard]] inline tensor<float> run_batched(const graph& g, const tensor<float>& inputs,
                                               std::int64_t batch = 256, int threads = 0) {
    if (threads == 0) threads = onednn::max_threads();
    const dims& d = inputs.extents();
    const shape expected = g.input_shape();
    if (d.rank() != 4 || d[1] != expected.c || d[2] != expected.h || d[3] != expected.w) {
        std::string detail = "inputs are " + to_string(d);
        detail += " but the graph takes {N, c, h, w} with c x h x w = " + to_string(expected);
        throw error("train::run_batched", detail);
    }
    const std::int64_t count = d[0];
    const shape out = g.output_shape();
    if (g.size() == 0) return inputs;
    batch = std::max<std::int64_t>(1, std::min(batch, count));
    onednn::compiled_graph compiled(g, {.batch = batch, .threads = threads});
    const shape in = g.input_shape();
    const std::int64_t in_item = in.numel();
    const std::int64_t out_item = out.numel();
    tensor<float> result(dims{count, out.c, out.h, out.w});
    tensor<float> src(dims{batch, in.c, in.h, in.w});
    tensor<float> dst(dims{batch, out.c, out.h, out.w});
    for (std::int64_t start = 0; start < count; start += batch) {
        const std::int64_t n = std::min(batch, count - start);
        std::copy_n(inputs.data() + start * in_item, n * in_item, src.data());
        std::fill(src.data() + n * in_item, src.data() + src.numel(), 0.0F);
        compiled.run(src.view(), dst.view());
        std::copy_n(dst.data(), n * out_item, result.data() + start * out_item);
    }
    return result;
}

/// The index of the largest output of each item (first on ties).
[[nodiscard]] inline std::vector<std::int32_t> argmax_per_item(const tensor<float>& outputs) {
    const std::int64_t count = outputs.extents()[0];
    const std::int64_t classes = outputs.numel() / count;
    std::vector<std::int32_t> out(static_cast<std::size_t>(count));
    for (std::int64_t n = 0; n < count; ++n) {
        const float* row = outputs.data() + n * classes;
        out[static_cast<std::size_t>(n)] =
            static_cast<std::int32_t>(std::max_element(row, row + classes) - row);
    }
    return out;
}

/// Predicted class of each image.
[[nodiscard]] inline std::vector<std::int32_t> predict(const graph& g, const tensor<float>& inputs,
                                                       std::int64_t batch = 256) {
    return argmax_per_item(run_batched(g, inputs, batch));
}

[[nodiscard]] inline double accuracy(std::span<const std::int32_t> predicted,
                                     std::span<const std::int32_t> labels) {
    if (predicted.size() != labels.size() || labels.empty())
        throw error("train::accuracy", std::to_string(predicted.size()) + " predictions for " +
                                           std::to_string(labels.size()) + " labels");
    std::size_t right = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i] ? 1U : 0U;
    return static_cast<double>(right) / static_cast<double>(labels.size());
}

/// A binary detector's per-frame rates (label 1 = the target is present).
struct detector_rates {
    /// P(flagged | target present).
    double true_positive_rate = 0.0;
    /// P(flagged | target absent).
    double false_positive_rate = 0.0;
    std::int64_t positives = 0;
    std::int64_t negatives = 0;
};

[[nodiscard]] inline detector_rates rates(std::span<const std::int32_t> predicted,
                                          std::span<const std::int32_t> labels) {
    if (predicted.size() != labels.size())
        throw error("train::rates", std::to_string(predicted.size()) + " predictions for " +
                                        std::to_string(labels.size()) + " labels");
    detector_rates r;
    std::int64_t tp = 0;
    std::int64_t fp = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] == 1) {
            ++r.positives;
            tp += predicted[i] == 1 ? 1 : 0;
        } else {
            ++r.negatives;
            fp += predicted[i] == 1 ? 1 : 0;
        }
    }
    if (r.positives == 0 || r.negatives == 0)
        throw error("train::rates", "needs positive and negative items (got " + std::to_string(r.positives) +
                                        " and " + std::to_string(r.negatives) + ")");
    r.true_positive_rate = static_cast<double>(tp) / static_cast<double>(r.positives);
    r.false_positive_rate = static_cast<double>(fp) / static_cast<double>(r.negatives);
    return r;
}

}  // namespace stemshare::train
