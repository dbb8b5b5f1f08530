#pragma once
/// \file
/// `train::sgd`: stochastic gradient descent with momentum and weight decay, in PyTorch's form
/// (v = momentum * v + g + decay * w; w -= lr * v).

#include <cstddef>
#include <cstdint>
#include <vector>

#include <stemshare/tensor/tensor.hpp>
#include <stemshare/train/network.hpp>

namespace stemshare::train {

struct sgd_options {
    float learning_rate = 0.05F;
    float momentum = 0.9F;
    /// Applied to convolution and dense weights only: decaying biases and batch-norm scales
    /// towards zero only hurts small nets.
    float weight_decay = 5e-4F;
};

class sgd {
public:
    explicit sgd(sgd_options options = {}) : options_(options) {}

    /// One update of every trainable parameter of `net` from its current gradients, at
    /// `learning_rate` (the caller's schedule). The first step creates the velocities; later
    /// ones allocate nothing.
    void step(network& net, float learning_rate) {
        auto& grads = net.gradients();
        graph& g = net.model();
        if (velocity_.size() != g.size()) {
            velocity_.assign(g.size(), {});
            decay_.assign(g.size(), {});
            for (std::size_t i = 0; i < g.size(); ++i) {
                const param_list descs = g.at(i).param_descs();
                for (std::size_t j = 0; j < g.at(i).params.size(); ++j) {
                    velocity_[i].emplace_back(g.at(i).params[j].extents());
                    // A negative decay marks running statistics, which the optimiser leaves alone.
                    decay_[i].push_back(!is_trainable_param(descs[j].name) ? -1.0F
                                        : descs[j].extents.rank() >= 2     ? options_.weight_decay
                                                                           : 0.0F);
                }
            }
        }
        for (std::size_t i = 0; i < g.size(); ++i) {
            node& n = g.at(i);
            for (std::size_t j = 0; j < n.params.size(); ++j) {
                const float decay = decay_[i][j];
                if (decay < 0.0F) continue;
                float* w = n.params[j].data();
                const float* dw = grads[i][j].data();
                float* v = velocity_[i][j].data();
                const std::int64_t count = n.params[j].numel();
                for (std::int64_t e = 0; e < count; ++e) {
                    v[e] = options_.momentum * v[e] + dw[e] + decay * w[e];
                    w[e] -= learning_rate * v[e];
                }
            }
        }
    }

    [[nodiscard]] const sgd_options& options() const noexcept { return options_; }

private:
    sgd_options options_;
    std::vector<std::vector<tensor<float>>> velocity_;
    std::vector<std::vector<float>> decay_;
};

}  // namespace stemshare::train
