#pragma once
/// \file
/// `program`: what lowering a graph produces, a fixed list of primitive calls over one activation
/// arena. The argument array of every step is built at compile time, so running is a loop of
/// `dnnl_primitive_execute` calls that allocates nothing in stemshare (oneDNN 2.6 itself still
/// builds a small argument map inside each execute call).

#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/activation_arena.hpp>
#include <stemshare/backend/onednn/engine.hpp>

namespace stemshare::onednn::detail {

/// The memory objects of one primitive call, by argument kind (DNNL_ARG_SRC, ...).
using arg_list = std::vector<std::pair<int, dnnl::memory>>;

struct program {
    /// A step not charged to any layer (only the copy of an empty graph).
    static constexpr std::size_t no_layer = std::numeric_limits<std::size_t>::max();

    /// One primitive call.
    struct step {
        dnnl::primitive primitive;
        arg_list memories;  // keeps the memory objects behind `args` alive
        std::vector<dnnl_exec_arg_t> args;
        /// "what: implementation", e.g. "conv 'c1' + relu: jit:avx2".
        std::string what;
        /// The layer (of the graph as given, before folding) whose time this step is.
        std::size_t layer = no_layer;
    };

    std::vector<step> steps;
    activation_arena arena;
    /// The caller's input and output, plain; their data handles are set before every run.
    dnnl::memory src;
    dnnl::memory dst;
    /// For each layer of the folded graph, the layer whose step computes it: itself, or the
    /// conv/dense an activation, a residual add or a depthwise conv was fused into.
    std::vector<std::size_t> owner;
    /// Bytes of the weights in the layouts the primitives want (`memory::desc::get_size` of every
    /// buffer the lowering allocated and filled once), and how many buffers they are.
    std::size_t weight_bytes = 0;
    std::size_t weight_buffers = 0;
};

}  // namespace stemshare::onednn::detail
