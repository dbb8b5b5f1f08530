#pragma once
/// \file
/// `train::network`: a trainable graph. Any graph the inference path runs trains: chains,
/// residual adds (the gradient goes to both branches) and concats (each input gets its channel
/// range of the gradient). Forward passes keep what the backward pass needs, and the backward
/// pass fills one gradient tensor per parameter. Every layer of the graph trains; to freeze a stem,
/// train only the suffix `g.slice(k, g.size())` on cached stem outputs (see fine_tune.hpp).
///
/// The passes run on oneDNN's training primitives (backend/onednn/training/), planned once per
/// batch size: a step at an unchanged batch size allocates nothing.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/training/training_graph.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::train {

/// How a batch-norm layer behaves while training.
enum class batch_norm_mode : std::uint8_t {
    /// Inference behaviour: the running statistics are constants, only weight and bias learn.
    /// The right choice for fine-tuning with small batches: training and deployment agree exactly.
    frozen,
    /// PyTorch's train(): normalise by the batch's own statistics and update the running ones.
    batch_statistics,
};

struct network_options {
    batch_norm_mode batch_norm = batch_norm_mode::frozen;
    /// PyTorch's default: running = 0.9 * running + 0.1 * batch.
    float batch_norm_momentum = 0.1F;
    /// Also compute d(loss)/d(input) (only gradient checks need it).
    bool input_gradient = false;
    /// Threads of the training primitives; 0: the calling thread's OpenMP thread count when the
    /// network first runs. A training job beside inference passes its share here.
    int threads = 0;
};

/// True for parameters the optimiser updates (not batch-norm running statistics).
[[nodiscard]] inline bool is_trainable_param(std::string_view name) noexcept {
    return name != "running_mean" && name != "running_var";
}

class network {
public:
    /// Takes a bound graph. Throws naming the layer for unbound weights.
    explicit network(graph g, network_options options = {}) : graph_(std::move(g)), options_(options) {
        for (std::size_t i = 0; i < graph_.size(); ++i) {
            const node& n = graph_.at(i);
            if (!n.is_bound())
                throw error("train::network: layer '" + n.name + "' " + describe(n.spec),
                            "has no weights bound");
        }
        if (options_.threads < 0)
            throw error("train::network", "threads must be 0 (the caller's) or positive, got " +
                                              std::to_string(options_.threads));
        gradients_.resize(graph_.size());
        for (std::size_t i = 0; i < graph_.size(); ++i)
            for (const auto& p : graph_.at(i).params) gradients_[i].emplace_back(p.extents());
    }

    /// Runs a batch {N, c, h, w}. With `training`, batch-norm layers in `batch_statistics` mode use
    /// the batch's statistics (and update the running ones), and the activations are kept for
    /// `backward`; otherwise the network behaves exactly like the deployed graph. The first batch
    /// of a new size plans the network for it (primitives and buffers); later ones only run.
    const tensor<float>& forward(const tensor<float>& x, bool training = true) {
        const shape in = graph_.input_shape();
        const dims& d = x.extents();
        if (d.rank() != 4 || d[1] != in.c || d[2] != in.h || d[3] != in.w)
            throw error("train::network::forward", "input must be {N, " + std::to_string(in.c) + ", " +
                                                       std::to_string(in.h) + ", " + std::to_string(in.w) +
                                                       "}, got " + to_string(d));
        training_ = false;
        if (graph_.size() == 0) {
            input_ = x;
            training_ = training;
            return input_;
        }
        const std::int64_t batch = d[0];
        if (!plan_ || plan_->batch() != batch) {
            plan_.reset();
            plan_ = std::make_unique<onednn::training_graph>(
                graph_, batch,
                onednn::training_options{
                    .threads = options_.threads,
                    .batch_statistics = options_.batch_norm == batch_norm_mode::batch_statistics,
                    .batch_norm_momentum = options_.batch_norm_momentum,
                    .input_gradient = options_.input_gradient});
            const shape out = graph_.output_shape();
            output_ = tensor<float>(dims{batch, out.c, out.h, out.w});
            if (options_.input_gradient) input_gradient_ = tensor<float>(d);
        }
        plan_->forward(graph_, x.data(), output_.data(), training);
        training_ = training;
        return output_;
    }

    /// Back-propagates d(loss)/d(output) of the last `forward(x, true)`; fills `gradients()`.
    void backward(const tensor<float>& dy) {
        if (!training_)
            throw error("train::network::backward", "needs a preceding forward(x, training = true)");
        if (graph_.size() == 0) {
            if (options_.input_gradient) input_gradient_ = dy;
            return;
        }
        if (!(dy.extents() == output_.extents()))
            throw error("train::network::backward", "output gradient must have dims " +
                                                        to_string(output_.extents()) + ", got " +
                                                        to_string(dy.extents()));
        plan_->backward(dy.data(), gradients_, options_.input_gradient ? input_gradient_.data() : nullptr);
    }

    [[nodiscard]] graph& model() noexcept { return graph_; }
    [[nodiscard]] const graph& model() const noexcept { return graph_; }
    /// One tensor per parameter, like `model().at(i).params`; running statistics stay zero.
    [[nodiscard]] std::vector<std::vector<tensor<float>>>& gradients() noexcept { return gradients_; }
    [[nodiscard]] const std::vector<std::vector<tensor<float>>>& gradients() const noexcept {
        return gradients_;
    }
    /// d(loss)/d(input) of the last backward (only with `network_options::input_gradient`).
    [[nodiscard]] const tensor<float>& input_gradient() const noexcept { return input_gradient_; }
    [[nodiscard]] const network_options& options() const noexcept { return options_; }
    /// Threads the planned primitives run with (0 before the first forward).
    [[nodiscard]] int threads() const noexcept { return plan_ ? plan_->threads() : 0; }
    /// Bytes of the planned arena (0 before the first forward).
    [[nodiscard]] std::size_t arena_bytes() const noexcept { return plan_ ? plan_->arena_bytes() : 0; }

private:
    graph graph_;
    network_options options_;
    std::unique_ptr<onednn::training_graph> plan_;
    tensor<float> input_;
    tensor<float> output_;
    std::vector<std::vector<tensor<float>>> gradients_;
    tensor<float> input_gradient_;
    bool training_ = false;
};

}  // namespace stemshare::train
