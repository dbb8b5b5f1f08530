#pragma once
/// \file
/// `train::fit`: mini-batch SGD over a dataset in a seeded order, with a learning-rate schedule
/// (cosine by default). Same seed, same data, same thread count: the same weights, bit for bit.
/// A non-finite loss stops training with an error naming the step; the network is left with the
/// last weights that gave a finite loss.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/train/dataset.hpp>
#include <stemshare/train/loss.hpp>
#include <stemshare/train/network.hpp>
#include <stemshare/train/progress_bar.hpp>
#include <stemshare/train/schedule.hpp>
#include <stemshare/train/sgd.hpp>

namespace stemshare::train {

struct fit_options {
    int epochs = 3;
    std::int64_t batch_size = 64;
    std::uint64_t seed = 1;
    sgd_options optimiser{};
    /// Anneal the learning rate from `optimiser.learning_rate` to zero along a half cosine
    /// (false: a constant rate). Ignored when `schedule` is set.
    bool cosine_schedule = true;
    /// The learning-rate schedule; unset: as `cosine_schedule` says.
    std::optional<lr_schedule> schedule;
    /// Progress bar label; empty: no progress output.
    std::string progress_label;
    std::FILE* progress_out = stderr;
    /// Called after every step, on the training thread; may throw to stop training (the network
    /// keeps the weights of the last step). Ekya's real mode holds a retraining to its CPU share here.
    std::function<void()> on_step;
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
    const lr_schedule schedule = options.schedule.value_or(
        lr_schedule{.kind = options.cosine_schedule ? schedule_kind::cosine : schedule_kind::constant});
    tensor<float> batch;
    tensor<float> grad;
    std::vector<std::int32_t> labels;
    // The weights before the current step, restored if its loss is not finite.
    graph& model = net.model();
    std::vector<std::vector<tensor<float>>> last_good(model.size());
    for (std::size_t i = 0; i < model.size(); ++i) last_good[i] = model.at(i).params;
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
            if (!std::isfinite(loss)) {
                for (std::size_t i = 0; i < model.size(); ++i)
                    for (std::size_t j = 0; j < last_good[i].size(); ++j)
                        std::copy_n(last_good[i][j].data(), last_good[i][j].numel(),
                                    model.at(i).params[j].data());
                throw error("train::fit",
                            "the loss is not finite at step " + std::to_string(history.steps) + " (epoch " +
                                std::to_string(epoch) + ", batch " + std::to_string(b) +
                                "); the network keeps the weights of step " +
                                std::to_string(history.steps - 1) + "; lower the learning rate");
            }
            for (std::size_t i = 0; i < model.size(); ++i)
                for (std::size_t j = 0; j < last_good[i].size(); ++j)
                    std::copy_n(model.at(i).params[j].data(), model.at(i).params[j].numel(),
                                last_good[i][j].data());
            net.backward(grad);
            const double lr = schedule.rate(options.optimiser.learning_rate, history.steps, total_steps);
            optimiser.step(net, static_cast<float>(lr));
            ++history.steps;
            loss_sum += loss;
            char note[48];
            std::snprintf(note, sizeof note, "epoch %d loss %.4f", epoch + 1,
                          loss_sum / static_cast<double>(b + 1));
            bar.update(history.steps, note);
            if (options.on_step) options.on_step();
        }
        history.epoch_loss.push_back(loss_sum / static_cast<double>(batches));
    }
    history.seconds = bar.elapsed();
    return history;
}

}  // namespace stemshare::train
