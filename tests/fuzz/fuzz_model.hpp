#pragma once
// The architecture the M-Package harness binds packages to, and make_seeds writes them for: small
// enough that a whole package fits in a fuzz input. Built with the run-time graph API, not a
// chain: Clang 14 cannot yet parse a chain's class-type template arguments (`conv2d<{...}>`).

#include <stemshare/graph/graph.hpp>
#include <stemshare/layers/layer_spec.hpp>

namespace stemshare::fuzz {

inline graph tiny_model() {
    graph g(shape{1, 4, 4});
    g.add("conv", conv2d_spec{.out_channels = 2, .kernel = 3, .padding = 1});
    g.add("relu", activation_spec{.kind = activation_kind::relu});
    g.add("pool", global_avg_pool_spec{});
    g.add("flatten", flatten_spec{});
    g.add("fc", dense_spec{.out_features = 2});
    return g;
}

}  // namespace stemshare::fuzz
