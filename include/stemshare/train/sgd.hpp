#pragma once
/// \file
/// `train::sgd`: stochastic gradient descent with momentum and weight decay, in PyTorch's form
/// (v = momentum * v + g + decay * w; w -= lr * v).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <stemshare/backend/onednn/threading.hpp>

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
            chunks_.clear();
            for (std::size_t i = 0; i < g.size(); ++i) {
                const param_list descs = g.at(i).param_descs();
                for (std::size_t j = 0; j < g.at(i).params.size(); ++j) {
                    velocity_[i].emplace_back(g.at(i).params[j].extents());
                    // A negative decay marks running statistics, which the optimiser leaves alone.
                    decay_[i].push_back(!is_trainable_param(descs[j].name) ? -1.0F
                                        : descs[j].extents.rank() >= 2     ? options_.weight_decay
                                                                           : 0.0F);
                    if (decay_[i].back() < 0.0F) continue;
                    const std::int64_t count = g.at(i).params[j].numel();
                    for (std::int64_t begin = 0; begin < count; begin += chunk_size)
                        chunks_.push_back({i, j, begin, std::min(count, begin + chunk_size)});
                }
            }
        }
        // The update is memory-bound and element-wise: the network's threads share it, a chunk at a
        // time (each element is updated exactly as on one thread).
        onednn::parallel_for(static_cast<std::ptrdiff_t>(chunks_.size()), std::max(1, net.threads()),
                             [&](std::ptrdiff_t k) {
                                 const chunk& c = chunks_[static_cast<std::size_t>(k)];
                                 const float decay = decay_[c.layer][c.index];
                                 float* w = g.at(c.layer).params[c.index].data();
                                 const float* dw = grads[c.layer][c.index].data();
                                 float* v = velocity_[c.layer][c.index].data();
                                 for (std::int64_t e = c.begin; e < c.end; ++e) {
                                     v[e] = options_.momentum * v[e] + dw[e] + decay * w[e];
                                     w[e] -= learning_rate * v[e];
                                 }
                             });
    }

    [[nodiscard]] const sgd_options& options() const noexcept { return options_; }

private:
    /// Elements [begin, end) of parameter `index` of layer `layer`.
    struct chunk {
        std::size_t layer;
        std::size_t index;
        std::int64_t begin;
        std::int64_t end;
    };
    static constexpr std::int64_t chunk_size = std::int64_t{1} << 16;

    sgd_options options_;
    std::vector<chunk> chunks_;
    std::vector<std::vector<tensor<float>>> velocity_;
    std::vector<std::vector<float>> decay_;
};

}  // namespace stemshare::train
