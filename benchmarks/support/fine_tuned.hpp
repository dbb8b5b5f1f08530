// Apps for the runtime benchmarks: models fine-tuned from one base, as the stem trie sees them.
#pragma once

#include <cstddef>
#include <cstdint>

#include <stemshare/graph/graph.hpp>

namespace stemshare::bench {

/// The base with layers k.. re-weighted from `seed`: an app fine-tuned with k layers frozen.
inline graph fine_tuned(const graph& base, std::size_t k, std::uint64_t seed) {
    graph g = base;
    graph own = base.slice(k, base.size());
    own.bind_random(seed);
    for (std::size_t i = k; i < g.size(); ++i) g.bind(i, own.nodes()[i - k].params);
    return g;
}

}  // namespace stemshare::bench
