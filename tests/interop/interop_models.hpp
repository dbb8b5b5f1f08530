#pragma once
// Models the interop suites share: a small image classifier and a dense classifier for
// {N, features} rows, both with seeded random weights, and a stand-in model that records the
// pointers it was handed, which is how the suites see that an input was not copied and an output
// was written in place.

#include <cstdint>
#include <cstring>
#include <span>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/tensor_view.hpp>

namespace stemshare::test {

/// 28x28 grey images -> 10 scores: a strided conv, then a dense layer that reads every position.
/// Not a zoo model: a deep net with random weights forgets its input (fashion_mobilenet's scores
/// agree to the last bit for any two images), which would make every "same bits" check pass.
/// Here any changed value or permutation of the input changes the scores. Branch points 0, 2, 3.
inline graph image_graph() {
    constexpr auto net =
        input<1, 28, 28> |
        block(layers::conv2d<{.out_channels = 4, .kernel = 3, .stride = 2, .padding = 1}> | layers::relu) |
        layers::dense<{.out_features = 10}>;
    graph g = net.to_graph();
    g.bind_random(42);
    return g;
}

inline constexpr std::int64_t dense_features = 12;
inline constexpr std::int64_t dense_classes = 5;

/// {12, 1, 1} -> 5 scores: a model fed one row of an {N, 12} matrix per image.
inline graph dense_graph() {
    constexpr auto net = input<dense_features, 1, 1> | layers::dense<{.out_features = dense_classes}>;
    graph g = net.to_graph();
    g.bind_random(7);
    return g;
}

/// Satisfies `interop::batch_model`; remembers where its input and output lived and copies the
/// first output-size input values to the output.
struct recording_model {
    std::int64_t batch_size = 2;
    shape in{1, 28, 28};
    shape out{10, 1, 1};
    const float* last_src = nullptr;
    float* last_dst = nullptr;

    [[nodiscard]] std::int64_t batch() const { return batch_size; }
    [[nodiscard]] shape input_shape() const { return in; }
    [[nodiscard]] shape output_shape() const { return out; }
    void run(tensor_view<const float> src, tensor_view<float> dst) {
        last_src = src.data();
        last_dst = dst.data();
        for (std::int64_t i = 0; i < dst.numel(); ++i) dst[i] = src[i];
    }
};

/// Whether the two ranges hold the same floats bit for bit.
inline bool same_bits(std::span<const float> a, std::span<const float> b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

}  // namespace stemshare::test
