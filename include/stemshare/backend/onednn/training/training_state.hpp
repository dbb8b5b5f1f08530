#pragma once
/// \file
/// What a `training_graph` keeps per value and per layer between its forward and backward
/// planning (oneDNN memories and the forward primitive descriptors that hint the backward ones).

#include <cstddef>
#include <memory>

#include <oneapi/dnnl/dnnl.hpp>

namespace stemshare::onednn::training_detail {

/// A value of the graph: its buffer and its gradient (started once a first contribution is written).
struct value_buffers {
    dnnl::memory mem;
    dnnl::memory diff;
    bool diff_started = false;
};

/// What a layer's forward planning leaves for its backward planning.
struct layer_state {
    std::shared_ptr<void> fwd_pd;       // the forward primitive_desc (the backward's hint)
    std::shared_ptr<void> fwd_pd_clip;  // hard-sigmoid: its second eltwise (the clip)
    dnnl::memory src;                   // the input, in the primitive's layout
    dnnl::memory src_1;                 // multiply: the second input, as the primitive reads it
    dnnl::memory weights;               // weights in the forward primitive's layout
    dnnl::memory weights_user;          // plain weights (the graph's tensor)
    dnnl::memory mean, variance, scale, shift;
    dnnl::memory workspace;
    dnnl::memory dst_2d;  // dense: the output as {N, O}
    dnnl::memory diff_dst_2d;
    dnnl::memory diff_4d;  // flatten: the output gradient viewed with the input's dims
    float alpha = 0.0F, beta = 0.0F;
    dnnl::algorithm algorithm = dnnl::algorithm::undef;
};

/// A oneDNN memory standing for parameter `index` of layer `layer` (a weight or its gradient).
struct parameter_binding {
    dnnl::memory mem;
    std::size_t layer;
    std::size_t index;
};

}  // namespace stemshare::onednn::training_detail
