#pragma once
/// \file
/// Softmax cross-entropy on logits, the loss of every classifier stemshare trains.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>

#include <stemshare/core/error.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::train {

/// Mean over the batch of -log softmax(logits)[label]. `logits` is {N, classes, 1, 1} (or any
/// {N, classes...} flat per image); writes d(loss)/d(logits) = (softmax - one_hot) / N into
/// `gradient` (same dims) and returns the loss. Labels outside [0, classes) are an error.
inline double softmax_cross_entropy(const tensor<float>& logits, std::span<const std::int32_t> labels,
                                    tensor<float>& gradient) {
    const std::int64_t batch = logits.extents()[0];
    const std::int64_t classes = logits.numel() / batch;
    if (static_cast<std::int64_t>(labels.size()) != batch)
        throw error("train::softmax_cross_entropy",
                    std::to_string(labels.size()) + " labels for a batch of " + std::to_string(batch));
    if (gradient.empty() || !(gradient.extents() == logits.extents()))
        gradient = tensor<float>(logits.extents());
    double total = 0.0;
    for (std::int64_t n = 0; n < batch; ++n) {
        const std::int32_t label = labels[static_cast<std::size_t>(n)];
        if (label < 0 || label >= classes)
            throw error("train::softmax_cross_entropy", "label " + std::to_string(label) + " of item " +
                                                            std::to_string(n) + " is outside 0.." +
                                                            std::to_string(classes - 1));
        const float* z = logits.data() + n * classes;
        double max = z[0];
        for (std::int64_t c = 1; c < classes; ++c) max = std::max(max, static_cast<double>(z[c]));
        double sum = 0.0;
        for (std::int64_t c = 0; c < classes; ++c) sum += std::exp(z[c] - max);
        total += std::log(sum) + max - z[label];
        for (std::int64_t c = 0; c < classes; ++c) {
            const double p = std::exp(z[c] - max) / sum;
            gradient[n * classes + c] =
                static_cast<float>((p - (c == label ? 1.0 : 0.0)) / static_cast<double>(batch));
        }
    }
    return total / static_cast<double>(batch);
}

}  // namespace stemshare::train
