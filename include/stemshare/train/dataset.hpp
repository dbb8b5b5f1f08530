#pragma once
/// \file
/// `train::dataset`: inputs {N, c, h, w} with one integer label each, and the helpers that pick
/// subsets, relabel them for a task and cut mini-batches in a seeded order.

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::train {

struct dataset {
    tensor<float> inputs;
    std::vector<std::int32_t> labels;

    [[nodiscard]] std::int64_t size() const noexcept { return static_cast<std::int64_t>(labels.size()); }
    /// Elements per item (c * h * w).
    [[nodiscard]] std::int64_t item_size() const noexcept {
        return labels.empty() ? 0 : inputs.numel() / size();
    }
};

/// Items `indices` of {inputs, labels} (labels given per source item), in that order.
[[nodiscard]] inline dataset select(const tensor<float>& inputs, std::span<const std::int32_t> labels,
                                    std::span<const std::int64_t> indices) {
    const std::int64_t count = inputs.extents()[0];
    if (static_cast<std::int64_t>(labels.size()) != count)
        throw error("train::select",
                    std::to_string(labels.size()) + " labels for " + std::to_string(count) + " items");
    if (indices.empty()) throw error("train::select", "no items selected");
    const std::int64_t item = inputs.numel() / count;
    dims d = inputs.extents();
    d[0] = static_cast<std::int64_t>(indices.size());
    dataset out{tensor<float>(d), {}};
    out.labels.reserve(indices.size());
    for (std::size_t i = 0; i < indices.size(); ++i) {
        const std::int64_t at = indices[i];
        if (at < 0 || at >= count)
            throw error("train::select",
                        "index " + std::to_string(at) + " outside 0.." + std::to_string(count - 1));
        std::copy_n(inputs.data() + at * item, item, out.inputs.data() + static_cast<std::int64_t>(i) * item);
        out.labels.push_back(labels[static_cast<std::size_t>(at)]);
    }
    return out;
}

/// A permutation of 0..n-1 that depends only on `seed` (Fisher-Yates on std::mt19937_64, whose
/// output is fully specified, unlike std::shuffle's use of a distribution).
[[nodiscard]] inline std::vector<std::int64_t> seeded_permutation(std::int64_t n, std::uint64_t seed) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
    std::mt19937_64 engine(seed);
    for (std::int64_t i = n - 1; i > 0; --i) {
        const auto j = static_cast<std::int64_t>(engine() % static_cast<std::uint64_t>(i + 1));
        std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
    }
    return order;
}

/// Copies items `indices` of `data` into `batch` ({indices.size(), c, h, w}) and `labels`.
inline void gather(const dataset& data, std::span<const std::int64_t> indices, tensor<float>& batch,
                   std::vector<std::int32_t>& labels) {
    dims d = data.inputs.extents();
    d[0] = static_cast<std::int64_t>(indices.size());
    if (batch.empty() || !(batch.extents() == d)) batch = tensor<float>(d);
    const std::int64_t item = data.item_size();
    labels.resize(indices.size());
    for (std::size_t i = 0; i < indices.size(); ++i) {
        std::copy_n(data.inputs.data() + indices[i] * item, item,
                    batch.data() + static_cast<std::int64_t>(i) * item);
        labels[i] = data.labels[static_cast<std::size_t>(indices[i])];
    }
}

}  // namespace stemshare::train
