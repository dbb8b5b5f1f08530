#pragma once
/// \file
/// `train::network`: a trainable view of a sequential graph (each layer reads the previous one):
/// forward passes that keep what the backward pass needs, and a backward pass that fills one
/// gradient tensor per parameter. Every layer of the graph trains; to freeze a stem, train only
/// the suffix `g.slice(k, g.size())` on cached stem outputs (see fine_tune.hpp).

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <stemshare/backend/reference/kernels.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/tensor.hpp>
#include <stemshare/train/layer_kernels.hpp>

namespace stemshare::train {

struct network_options {
    batch_norm_mode batch_norm = batch_norm_mode::frozen;
    /// PyTorch's default: running = 0.9 * running + 0.1 * batch.
    float batch_norm_momentum = 0.1F;
    /// Also compute d(loss)/d(input) (only gradient checks need it; it costs a GEMM per layer 0).
    bool input_gradient = false;
};

/// True for parameters the optimiser updates (not batch-norm running statistics).
[[nodiscard]] inline bool is_trainable_param(std::string_view name) noexcept {
    return name != "running_mean" && name != "running_var";
}

class network {
public:
    /// Takes a bound graph whose layers each read the previous layer's output. Throws naming the
    /// layer for merge layers (add, concat) or unbound weights.
    explicit network(graph g, network_options options = {}) : graph_(std::move(g)), options_(options) {
        for (std::size_t i = 0; i < graph_.size(); ++i) {
            const node& n = graph_.at(i);
            const std::string where = "train::network: layer '" + n.name + "' " + describe(n.spec);
            if (std::holds_alternative<add_spec>(n.spec) || std::holds_alternative<concat_spec>(n.spec))
                throw error(where,
                            "merge layers cannot be trained; a trainable suffix must be a chain of "
                            "conv, dense, batch-norm, activation, pooling, flatten and softmax layers");
            if (n.inputs.size() != 1 || n.inputs[0] != static_cast<value_id>(i) - 1)
                throw error(where,
                            "the trainer needs a sequential graph (each layer reading the previous one)");
            if (!n.is_bound()) throw error(where, "has no weights bound");
        }
        gradients_.resize(graph_.size());
        for (std::size_t i = 0; i < graph_.size(); ++i)
            for (const auto& p : graph_.at(i).params) gradients_[i].emplace_back(p.extents());
        caches_.resize(graph_.size());
    }

    /// Runs a batch {N, c, h, w}. With `training`, batch-norm layers in `batch_statistics` mode use
    /// the batch's statistics (and update the running ones), and the activations are kept for
    /// `backward`; otherwise the network behaves exactly like the deployed graph.
    const tensor<float>& forward(const tensor<float>& x, bool training = true) {
        const shape in = graph_.input_shape();
        const dims& d = x.extents();
        if (d.rank() != 4 || d[1] != in.c || d[2] != in.h || d[3] != in.w)
            throw error("train::network::forward", "input must be {N, " + std::to_string(in.c) + ", " +
                                                       std::to_string(in.h) + ", " + std::to_string(in.w) +
                                                       "}, got " + to_string(d));
        input_ = x;
        training_ = training;
        values_.resize(graph_.size());
        const std::int64_t batch = d[0];
        for (std::size_t i = 0; i < graph_.size(); ++i) {
            node& n = graph_.at(i);
            const tensor<float>& src = i == 0 ? input_ : values_[i - 1];
            const dims out{batch, n.output.c, n.output.h, n.output.w};
            if (values_[i].empty() || !(values_[i].extents() == out)) values_[i] = tensor<float>(out);
            tensor<float>& dst = values_[i];
            cache& c = caches_[i];
            std::visit(
                [&](const auto& s) {
                    using S = std::decay_t<decltype(s)>;
                    if constexpr (std::is_same_v<S, conv2d_spec>) {
                        conv2d_forward(s, src, n.params, dst);
                    } else if constexpr (std::is_same_v<S, dense_spec>) {
                        dense_forward(s, src, n.params, dst);
                    } else if constexpr (std::is_same_v<S, batch_norm_spec>) {
                        const batch_norm_mode mode = training ? options_.batch_norm : batch_norm_mode::frozen;
                        batch_norm_forward(s, mode, src, n.params, dst, c.batch_norm, training,
                                           options_.batch_norm_momentum);
                    } else if constexpr (std::is_same_v<S, activation_spec>) {
                        for (std::int64_t j = 0; j < src.numel(); ++j)
                            dst[j] = reference::activate(s.kind, src[j]);
                    } else if constexpr (std::is_same_v<S, pool2d_spec>) {
                        pool2d_forward(s, src, dst, c.argmax);
                    } else if constexpr (std::is_same_v<S, global_avg_pool_spec>) {
                        global_avg_pool_forward(src, dst);
                    } else if constexpr (std::is_same_v<S, flatten_spec>) {
                        std::copy_n(src.data(), src.numel(), dst.data());
                    } else if constexpr (std::is_same_v<S, softmax_spec>) {
                        reference::softmax(src, dst);
                    } else {
                        throw error("train::network", "layer '" + n.name + "' cannot be trained");
                    }
                },
                n.spec);
        }
        return graph_.size() == 0 ? input_ : values_.back();
    }

    /// Back-propagates d(loss)/d(output) of the last `forward(x, true)`; fills `gradients()`.
    void backward(const tensor<float>& dy) {
        if (!training_ || values_.size() != graph_.size())
            throw error("train::network::backward", "needs a preceding forward(x, training = true)");
        if (graph_.size() == 0) return;
        if (!(dy.extents() == values_.back().extents()))
            throw error("train::network::backward", "output gradient must have dims " +
                                                        to_string(values_.back().extents()) + ", got " +
                                                        to_string(dy.extents()));
        tensor<float> grad = dy;
        for (std::size_t idx = graph_.size(); idx-- > 0;) {
            const node& n = graph_.at(idx);
            const tensor<float>& src = idx == 0 ? input_ : values_[idx - 1];
            const bool need_dx = idx > 0 || options_.input_gradient;
            tensor<float> dx = need_dx ? tensor<float>(src.extents()) : tensor<float>{};
            tensor<float>* dxp = need_dx ? &dx : nullptr;
            std::vector<tensor<float>>& dp = gradients_[idx];
            const cache& c = caches_[idx];
            std::visit(
                [&](const auto& s) {
                    using S = std::decay_t<decltype(s)>;
                    if constexpr (std::is_same_v<S, conv2d_spec>) {
                        conv2d_backward(s, src, n.params, grad, dxp, dp);
                    } else if constexpr (std::is_same_v<S, dense_spec>) {
                        dense_backward(s, src, n.params, grad, dxp, dp);
                    } else if constexpr (std::is_same_v<S, batch_norm_spec>) {
                        batch_norm_backward(options_.batch_norm, src, n.params, c.batch_norm, grad, dxp, dp);
                    } else if (!need_dx) {
                        return;  // a parameter-free first layer has nothing to compute
                    } else if constexpr (std::is_same_v<S, activation_spec>) {
                        activation_backward(s, src, values_[idx], grad, dx);
                    } else if constexpr (std::is_same_v<S, pool2d_spec>) {
                        pool2d_backward(s, src.extents(), c.argmax, grad, dx);
                    } else if constexpr (std::is_same_v<S, global_avg_pool_spec>) {
                        global_avg_pool_backward(src.extents(), grad, dx);
                    } else if constexpr (std::is_same_v<S, flatten_spec>) {
                        std::copy_n(grad.data(), grad.numel(), dx.data());
                    } else if constexpr (std::is_same_v<S, softmax_spec>) {
                        softmax_backward(values_[idx], grad, dx);
                    } else {
                        throw error("train::network", "layer '" + n.name + "' cannot be trained");
                    }
                },
                n.spec);
            if (need_dx) grad = std::move(dx);
        }
        if (options_.input_gradient) input_gradient_ = std::move(grad);
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

private:
    struct cache {
        batch_norm_cache batch_norm;
        std::vector<std::int64_t> argmax;
    };

    graph graph_;
    network_options options_;
    tensor<float> input_;
    std::vector<tensor<float>> values_;
    std::vector<cache> caches_;
    std::vector<std::vector<tensor<float>>> gradients_;
    tensor<float> input_gradient_;
    bool training_ = false;
};

}  // namespace stemshare::train
