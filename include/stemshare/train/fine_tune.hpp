#pragma once
/// \file
/// `train::fine_tune`: Mainstream's M-Trainer step for one candidate. The first k layers stay
/// frozen: their outputs are computed once per training image (oneDNN, batched) and cached, and
/// only the suffix [k, end) trains on them, so a candidate costs only its suffix.

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/train/dataset.hpp>
#include <stemshare/train/evaluate.hpp>
#include <stemshare/train/fit.hpp>
#include <stemshare/train/initialise.hpp>
#include <stemshare/train/network.hpp>
#include <stemshare/train/progress_bar.hpp>

namespace stemshare::train {

/// `base` with its last layer (a dense classifier) replaced by a fresh one with `classes`
/// outputs, He-initialised from `seed`; the rest keeps its weights and branch points.
[[nodiscard]] inline graph with_new_classifier(const graph& base, std::int64_t classes, std::uint64_t seed) {
    if (base.size() == 0 || !std::holds_alternative<dense_spec>(base.at(base.size() - 1).spec))
        throw error("train::with_new_classifier", "the model's last layer must be a dense classifier");
    const node& last = base.at(base.size() - 1);
    graph out = base.slice(0, base.size() - 1);
    auto spec = std::get<dense_spec>(last.spec);
    spec.out_features = classes;
    out.add(last.name, spec);
    if (base.has_declared_branch_points()) out.set_branch_points(base.branch_points());
    initialise(out, seed, out.size() - 1);
    return out;
}

struct fine_tune_options {
    /// Layers [0, num_frozen) stay as they are; must be a cut point below the graph's size.
    std::size_t num_frozen = 0;
    fit_options fit{};
    network_options network{};
    /// Images per oneDNN run when computing the frozen stem's outputs.
    std::int64_t stem_batch = 256;
};

struct fine_tune_result {
    graph model;
    fit_history history;
    /// Time spent computing (caching) the frozen stem's outputs.
    double stem_seconds = 0.0;
};

/// Fine-tunes layers [num_frozen, end) of `start` (bound; its output must be logits) on `data`.
/// The returned model keeps layers [0, num_frozen) bit-identical to `start`.
[[nodiscard]] inline fine_tune_result fine_tune(const graph& start, const dataset& data,
                                                const fine_tune_options& options) {
    const std::size_t k = options.num_frozen;
    if (k >= start.size() || !start.is_cut_point(k))
        throw error("train::fine_tune", "num_frozen " + std::to_string(k) + " is not a cut point below the " +
                                            std::to_string(start.size()) + " layers");
    if (std::holds_alternative<softmax_spec>(start.at(start.size() - 1).spec))
        throw error("train::fine_tune",
                    "the model ends in a softmax; train the logits (drop the softmax layer)");
    fine_tune_result result{start, {}, 0.0};
    const progress_bar clock(1, "", nullptr);
    dataset features{tensor<float>{}, data.labels};
    features.inputs = k == 0 ? data.inputs : run_batched(start.slice(0, k), data.inputs, options.stem_batch);
    result.stem_seconds = clock.elapsed();
    network net(start.slice(k, start.size()), options.network);
    result.history = fit(net, features, options.fit);
    for (std::size_t i = k; i < start.size(); ++i) result.model.at(i).params = net.model().at(i - k).params;
    return result;
}

}  // namespace stemshare::train
