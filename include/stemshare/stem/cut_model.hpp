#pragma once
/// \file
/// `cut_model`: an app's model cut at its branch point k, in the form the stem trie consumes:
/// the frozen prefix (layers 0..k-1) as a list of fingerprinted segments, and the app's own
/// suffix (layers k..end).
///
/// Granularity: a segment is the stretch of the batch-norm-folded prefix between two
/// consecutive *cut points* (positions where exactly one value crosses, graph::is_cut_point).
/// So a chain of plain layers gives one segment per layer and a residual or inception block is
/// one segment as a whole, since nothing can be shared from inside it without its skip input.
/// Cut points of a prefix depend only on the prefix, never on declared branch points or on the
/// suffix, so two apps holding the same layers always produce the same segments and share them
/// whatever branch points their files declare. Declared branch points only restrict which k an
/// app may choose.
///
/// Batch-norms are folded inside the prefix and inside the suffix separately, never across k:
/// the layer after k belongs to the app and may differ between apps.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/graph/fold_batch_norms.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/stem/fingerprint.hpp>

namespace stemshare::stem {

/// One shareable piece of a frozen prefix.
struct segment {
    /// The layers, batch-norms folded, weights owned (shared between trie copies, never mutated).
    std::shared_ptr<const graph> layers;
    /// Identity of the whole prefix up to and including this segment.
    fingerprint id;
    /// How many layers of the original (unfolded) model the prefix up to here covers.
    std::size_t layer_end = 0;
    std::int64_t flops = 0;
    /// Bytes of f32 weights.
    std::int64_t param_bytes = 0;
};

/// Fingerprint of the empty prefix of a stream with per-image shape `input`: the root of a trie.
[[nodiscard]] inline fingerprint root_fingerprint(shape input) {
    return hasher{}.text("stemshare.stem.root").i64(input.c).i64(input.h).i64(input.w).finish();
}

/// Bytes of f32 weights a graph holds.
[[nodiscard]] inline std::int64_t param_bytes(const graph& g) {
    return g.param_count() * static_cast<std::int64_t>(sizeof(float));
}

struct cut_model {
    std::vector<segment> prefix;
    /// Layers k..end, batch-norms folded. Never shared.
    std::shared_ptr<const graph> suffix;
    /// Branch point k: the prefix holds layers 0..k-1.
    std::size_t num_frozen = 0;
    /// Layers of the original model.
    std::size_t layer_count = 0;
};

namespace detail {

/// For each node of fold_batch_norms(g), the largest original layer index it stands for (a
/// folded convolution also stands for its batch-norm).
inline std::vector<std::size_t> folded_origins(const graph& g) {
    std::vector<std::size_t> origin;
    std::vector<std::size_t> folded_into(g.size(), g.size());
    for (std::size_t i = 0; i < g.size(); ++i) {
        if (stemshare::detail::folds_into_producer(g, i)) {
            const auto producer = static_cast<std::size_t>(g.nodes()[i].inputs[0]);
            origin[folded_into[producer]] = std::max(origin[folded_into[producer]], i);
            continue;
        }
        folded_into[i] = origin.size();
        origin.push_back(i);
    }
    return origin;
}

}  // namespace detail

/// Cuts `model` at branch point `k`. `who` names the app in errors. Throws `stemshare::error`
/// when the model has unbound layers, when k is past the model or leaves the app no layer of
/// its own, or when k is not one of the model's branch points.
[[nodiscard]] inline cut_model cut(const graph& model, std::size_t k, const std::string& who) {
    if (!model.is_bound()) {
        for (const node& n : model.nodes())
            if (!n.is_bound()) throw error(who, "layer '" + n.name + "' has no weights bound");
    }
    if (k >= model.size())
        throw error(who, "branch point " + std::to_string(k) + " is outside the model: it has " +
                             std::to_string(model.size()) + " layers and an app needs at least its last one");
    const auto points = model.branch_points();
    if (std::find(points.begin(), points.end(), k) == points.end()) {
        std::string list;
        for (std::size_t p : points)
            if (p < model.size()) list += (list.empty() ? "" : ", ") + std::to_string(p);
        throw error(who, "branch point " + std::to_string(k) + " is not a branch point of the model (" +
                             (model.has_declared_branch_points() ? "declared" : "cut points") + ": " + list +
                             ")");
    }

    cut_model out;
    out.num_frozen = k;
    out.layer_count = model.size();
    out.suffix = std::make_shared<const graph>(fold_batch_norms(model.slice(k, model.size())));

    const graph raw_prefix = model.slice(0, k);
    const graph prefix = fold_batch_norms(raw_prefix);
    const std::vector<std::size_t> origin = detail::folded_origins(raw_prefix);
    fingerprint parent = root_fingerprint(model.input_shape());
    std::size_t begin = 0;
    std::size_t covered = 0;
    for (std::size_t end = 1; end <= prefix.size(); ++end) {
        if (!prefix.is_cut_point(end)) continue;
        auto layers = std::make_shared<const graph>(prefix.slice(begin, end));
        for (std::size_t j = begin; j < end; ++j) covered = std::max(covered, origin[j] + 1);
        segment s{layers, fingerprint_of(*layers, parent), covered, layers->flops(), param_bytes(*layers)};
        parent = s.id;
        out.prefix.push_back(std::move(s));
        begin = end;
    }
    if (!out.prefix.empty()) out.prefix.back().layer_end = k;
    return out;
}

}  // namespace stemshare::stem
