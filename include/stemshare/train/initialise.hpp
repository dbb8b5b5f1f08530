#pragma once
/// \file
/// `train::initialise`: weights to train a graph from scratch (`graph::bind_random` is for timing
/// and parity, and its batch-norm scales around zero would stall training).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <variant>
#include <vector>

#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/fill.hpp>

namespace stemshare::train {

/// Binds layers [first, last) of `g` (all by default): convolution and dense weights He-uniform
/// (bound sqrt(6 / fan_in), right for ReLU-family nets), biases zero, batch-norm weight 1, bias 0,
/// running mean 0, running variance 1. Depends only on `seed` and the layer index.
inline void initialise(graph& g, std::uint64_t seed, std::size_t first = 0, std::size_t last = SIZE_MAX) {
    last = std::min(last, g.size());
    for (std::size_t i = first; i < last; ++i) {
        const node& n = g.at(i);
        const bool is_norm = std::holds_alternative<batch_norm_spec>(n.spec);
        std::vector<tensor<float>> params;
        for (const auto& d : n.param_descs()) {
            tensor<float> t(d.extents);
            if (d.extents.rank() >= 2) {
                const auto fan_in = static_cast<double>(d.extents.numel() / d.extents[0]);
                const auto bound = static_cast<float>(std::sqrt(6.0 / fan_in));
                fill_uniform(t.values(), seed * 1000003ULL + i * 31ULL + params.size(), -bound, bound);
            } else if (is_norm && (d.name == "weight" || d.name == "running_var")) {
                fill_constant(t.values(), 1.0F);
            }
            params.push_back(std::move(t));
        }
        g.bind(i, std::move(params));
    }
}

}  // namespace stemshare::train
