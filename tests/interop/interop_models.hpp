#pragma once
// Models the interop suites share: fashion_mobilenet with seeded random weights (images), a dense
// classifier for {N, features} rows, and a stand-in model that records the pointers it was handed,
// which is how the suites see that an input was not copied and an output was written in place.

#include <cstdint>
#include <cstring>
#include <span>

#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/tensor_view.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>

namespace stemshare::test {

/// The zoo's 28x28 grey classifier, random weights (what example 04 runs).
inline graph fashion_graph() {
    graph g = zoo::fashion_mobilenet.to_graph();
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
