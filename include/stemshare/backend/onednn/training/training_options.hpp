#pragma once
/// \file
/// `onednn::training_options`: how a `training_graph` trains (threads, batch-norm mode, whether the
/// input gradient is wanted).

namespace stemshare::onednn {

struct training_options {
    /// Threads of every primitive; 0: the calling thread's current OpenMP count.
    int threads = 0;
    /// Batch-norm layers normalise by the batch's statistics and update the running ones
    /// (PyTorch's train()); otherwise they use the running statistics (frozen).
    bool batch_statistics = false;
    /// running = (1 - momentum) * running + momentum * batch (PyTorch's form; unbiased variance).
    float batch_norm_momentum = 0.1F;
    /// Also compute d(loss)/d(graph input).
    bool input_gradient = false;
};

}  // namespace stemshare::onednn
