#pragma once
/// \file
/// `redrawn_suffix`: an app as fine-tuning makes one from a base model, for calibrations,
/// benchmarks and tests that need many apps sharing a stem without training them.

#include <cstddef>
#include <cstdint>
#include <string>

#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>

namespace stemshare {

/// `base` (weights bound) with layers [k, size) re-drawn from `seed` (`graph::bind_random` of
/// that slice) and layers [0, k) kept: an app fine-tuned from `base` with its first k layers
/// frozen, so the stem trie shares exactly its first k layers with `base` and every other app
/// made so. Throws `stemshare::error` for k beyond the model.
[[nodiscard]] inline graph redrawn_suffix(const graph& base, std::size_t k, std::uint64_t seed) {
    if (k > base.size())
        throw error("redrawn_suffix", "k = " + std::to_string(k) + " is beyond the model's " +
                                          std::to_string(base.size()) + " layers");
    graph g = base;
    if (k == base.size()) return g;
    graph own = base.slice(k, base.size());
    own.bind_random(seed);
    for (std::size_t i = k; i < g.size(); ++i) g.bind(i, own.nodes()[i - k].params);
    return g;
}

}  // namespace stemshare
