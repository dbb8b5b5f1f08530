#pragma once
/// \file
/// `train::fit`: mini-batch SGD over a dataset in a seeded order, with a cosine learning-rate
/// schedule. Same seed, same data, same thread count: the same weights, bit for bit.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/train/dataset.hpp>
#include <stemshare/train/loss.hpp>
#include <stemshare/train/network.hpp>
#include <stemshare/train/progress_bar.hpp>
#include <stemshare/train/sgd.hpp>

namespace stemshare::train {

struct fit_options {
    int epochs = 3;
    std::int64_t batch_size = 64;
    std::uint64_t seed = 1;
    sgd_options optimiser{};
    /// Anneal the learning rate from `optimiser.learning_rate` to zero along a half cosine.
    bool cosine_schedule = true;
    /// Progress bar label; empty: no progress output.
    std::string progress_label;
    std::FILE* progress_out = stderr;
};

struct fit_history {
    /// Mean training loss of each epoch.
    std::vector<double> epoch_loss;
    std::int64_t steps = 0;
    double seconds = 0.0;
};

/// Trains every layer of `net` on `data`. Each epoch visits a fresh seeded permutation in batches
/// of `batch_size`; the last incomplete batch is dropped (a batch of one has no batch
/// statistics). The data must hold at least one full batch.
inline fit_history fit(network& net, const dataset& data, const fit_options& options) {
    if (options.epochs <= 0 || options.batch_size <= 0)
        throw error("train::fit", "epochs and batch_size must be positive");
    const std::int64_t batches = data.size() / options.batch_size;
    if (batches == 0)
        throw error("train::fit", "dataset of " + std::to_string(data.size()) +
                                      " items holds no full batch of " + std::to_string(options.batch_size));
    sgd optimiser(options.optimiser);
    fit_history history;
    const std::int64_t total_steps = batches * options.epochs;
    progress_bar bar(total_steps, options.progress_label,
                     options.progress_label.empty() ? nullptr : options.progress_out);
    tensor<float> batch;
    tensor<float> grad;
    std::vector<std::int32_t> labels;
    for (int epoch = 0; epoch < options.epochs; ++epoch) {
        const auto order = seeded_permutation(
            data.size(), options.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(epoch));
        double loss_sum = 0.0;
        for (std::int64_t b = 0; b < batches; ++b) {
            const std::span<const std::int64_t> indices(order.data() + b * options.batch_size,
                                                        static_cast<std::size_t>(options.batch_size));
            gather(data, indices, batch, labels);
            const tensor<float>& logits = net.forward(batch, true);
            const double loss = softmax_cross_entropy(logits, labels, grad);
            if (!std::isfinite(loss))
                throw error("train::fit", "the loss diverged (non-finite) at epoch " + std::to_string(epoch) +
                                              ", batch " + std::to_string(b) + "; lower the learning rate");
            net.backward(grad);
            double lr = options.optimiser.learning_rate;
            if (options.cosine_schedule)
                lr *= 0.5 * (1.0 + std::cos(3.141592653589793 * static_cast<double>(history.steps) /
                                            static_cast<double>(total_steps)));
            optimiser.step(net, static_cast<float>(lr));
            ++history.steps;
            loss_sum += loss;
            char note[48];
            std::snprintf(note, sizeof note, "epoch %d loss %.4f", epoch + 1,
                          loss_sum / static_cast<double>(b + 1));
            bar.update(history.steps, note);
        }
        history.epoch_loss.push_back(loss_sum / static_cast<double>(batches));
    }
    history.seconds = bar.elapsed();
    return history;
}

}  // namespace stemshare::train
