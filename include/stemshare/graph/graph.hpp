#pragma once
/// \file
/// `graph`: the run-time model, a DAG of layer nodes in topological order. Compile-time chains
/// lower to it, file loaders produce it, backends compile it, and the stem trie cuts it.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/layer_spec.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare {

/// Identifies a value: the graph input, or the output of the node with that index.
using value_id = std::int32_t;
inline constexpr value_id graph_input = -1;

struct node {
    std::string name;
    layer_spec spec;
    std::vector<value_id> inputs;
    std::vector<shape> input_shapes;
    shape output;
    /// In the order of `stemshare::params(spec, input_shapes)`; empty until bound.
    std::vector<tensor<float>> params;

    [[nodiscard]] param_list param_descs() const { return stemshare::params(spec, input_shapes); }
    /// Every parameter present with its spec's dims (`params` is public, so a caller may have
    /// filled it without `graph::bind`; the backends read exactly the dims of the spec).
    [[nodiscard]] bool is_bound() const {
        const param_list descs = param_descs();
        if (params.size() != descs.size()) return false;
        for (std::size_t i = 0; i < descs.size(); ++i)
            if (!(params[i].extents() == descs[i].extents)) return false;
        return true;
    }
    [[nodiscard]] std::int64_t flops() const { return stemshare::flops(spec, input_shapes); }
};

class graph {
public:
    explicit graph(shape input) : input_(input) {
        if (input.empty()) throw error("graph", "input shape " + to_string(input) + " has a zero extent");
    }

    /// Appends a layer reading `inputs`; returns the new node's value id. Throws
    /// `stemshare::error` naming the layer and the shapes when the layer does not fit its inputs.
    value_id add(std::string name, layer_spec spec, std::vector<value_id> inputs) {
        std::vector<shape> in;
        for (value_id v : inputs) {
            if (v < graph_input || v >= static_cast<value_id>(nodes_.size()))
                throw error("graph: layer '" + name + "'",
                            "reads value " + std::to_string(v) + " which does not exist yet");
            in.push_back(shape_of(v));
        }
        const diagnostic d = stemshare::check(spec, in);
        if (!d.ok()) {
            std::string shapes;
            for (const auto& s : in) shapes += (shapes.empty() ? "" : ", ") + to_string(s);
            throw error("graph: layer '" + name + "' " + describe(spec),
                        d.message() + " (input " + shapes + ")");
        }
        node n{std::move(name), spec, std::move(inputs), in, stemshare::output_shape(spec, in), {}};
        nodes_.push_back(std::move(n));
        return static_cast<value_id>(nodes_.size() - 1);
    }
    /// Appends a one-input layer reading the last value (the graph input when empty).
    value_id add(std::string name, layer_spec spec) { return add(std::move(name), spec, {last_value()}); }

    /// Binds a node's parameters (in `param_descs()` order) after checking their count, shapes and
    /// values (NaN or infinity is rejected: it would silently poison every output).
    void bind(std::size_t index, std::vector<tensor<float>> params) {
        node& n = at(index);
        const param_list descs = n.param_descs();
        const std::string where = "graph: layer '" + n.name + "' " + describe(n.spec);
        if (params.size() != descs.size())
            throw error(where, "expects " + std::to_string(descs.size()) + " parameter tensors, got " +
                                   std::to_string(params.size()));
        for (std::size_t i = 0; i < descs.size(); ++i) {
            if (!(params[i].extents() == descs[i].extents))
                throw error(where, "parameter '" + std::string(descs[i].name) + "' must have dims " +
                                       to_string(descs[i].extents) + ", got " +
                                       to_string(params[i].extents()));
            const auto bad = std::find_if(params[i].values().begin(), params[i].values().end(),
                                          [](float v) { return !std::isfinite(v); });
            if (bad != params[i].values().end())
                throw error(where, "parameter '" + std::string(descs[i].name) +
                                       "' has a non-finite value at index " +
                                       std::to_string(bad - params[i].values().begin()));
        }
        // Batch-norm divides by sqrt(variance + epsilon): refuse what would give inf or NaN here,
        // naming this layer, rather than in the conv it is folded into.
        if (const auto* bn = std::get_if<batch_norm_spec>(&n.spec)) {
            const auto var = params[3].values();
            const auto bad =
                std::find_if(var.begin(), var.end(), [&](float v) { return !(v + bn->epsilon > 0.0F); });
            if (bad != var.end())
                throw error(where, "running variance + epsilon must be positive, got " +
                                       std::to_string(*bad) + " at channel " +
                                       std::to_string(bad - var.begin()));
        }
        n.params = std::move(params);
    }

    /// Binds every node to seeded random weights (for timing and parity tests): uniform values
    /// scaled by 1/sqrt(fan-in), and batch-norm variances in [0.5, 1.5] so they stay positive.
    void bind_random(std::uint64_t seed) {
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            std::vector<tensor<float>> params;
            for (const auto& d : nodes_[i].param_descs()) {
                tensor<float> t(d.extents);
                const std::uint64_t s = seed * 1000003ULL + i * 31ULL + params.size();
                if (d.name == "running_var") {
                    fill_uniform(t.values(), s, 0.5F, 1.5F);
                } else if (d.extents.rank() >= 2) {
                    const auto fan_in = static_cast<float>(d.extents.numel() / d.extents[0]);
                    const float bound = 1.0F / std::sqrt(fan_in);
                    fill_uniform(t.values(), s, -bound, bound);
                } else {
                    fill_uniform(t.values(), s, -0.5F, 0.5F);
                }
                params.push_back(std::move(t));
            }
            bind(i, std::move(params));
        }
    }

    [[nodiscard]] shape input_shape() const noexcept { return input_; }
    [[nodiscard]] shape output_shape() const { return shape_of(last_value()); }
    [[nodiscard]] value_id last_value() const noexcept {
        return nodes_.empty() ? graph_input : static_cast<value_id>(nodes_.size() - 1);
    }
    [[nodiscard]] shape shape_of(value_id v) const {
        return v == graph_input ? input_ : nodes_.at(static_cast<std::size_t>(v)).output;
    }
    [[nodiscard]] const std::vector<node>& nodes() const noexcept { return nodes_; }
    [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }
    [[nodiscard]] const node& at(std::size_t i) const {
        if (i >= nodes_.size())
            throw error("graph", "no layer " + std::to_string(i) + " in " + std::to_string(nodes_.size()));
        return nodes_[i];
    }
    [[nodiscard]] node& at(std::size_t i) {
        if (i >= nodes_.size())
            throw error("graph", "no layer " + std::to_string(i) + " in " + std::to_string(nodes_.size()));
        return nodes_[i];
    }
    [[nodiscard]] bool is_bound() const {
        return std::all_of(nodes_.begin(), nodes_.end(), [](const node& n) { return n.is_bound(); });
    }
    [[nodiscard]] std::int64_t flops() const {
        return std::accumulate(nodes_.begin(), nodes_.end(), std::int64_t{0},
                               [](std::int64_t a, const node& n) { return a + n.flops(); });
    }
    [[nodiscard]] std::int64_t param_count() const {
        std::int64_t total = 0;
        for (const auto& n : nodes_) total += n.param_descs().numel();
        return total;
    }

    /// True when the first k layers can be cut off as a stem: every value read by layers k..end
    /// that comes from before k is the output of layer k-1 (or the graph input when k == 0).
    [[nodiscard]] bool is_cut_point(std::size_t k) const {
        if (k > nodes_.size()) return false;
        const value_id boundary = static_cast<value_id>(k) - 1;
        for (std::size_t i = k; i < nodes_.size(); ++i)
            for (value_id v : nodes_[i].inputs)
                if (v < boundary) return false;
        return true;
    }
    /// The branch points: where a stem may end. Declared ones (block boundaries of a chain) when
    /// given, otherwise every cut point except one just before a channel shuffle: a shuffle
    /// closes the unit that computed its input (ShuffleNet's split -> branch -> concat ->
    /// shuffle), so a stem never ends between the two.
    [[nodiscard]] std::vector<std::size_t> branch_points() const {
        if (!declared_branch_points_.empty()) return declared_branch_points_;
        std::vector<std::size_t> points;
        for (std::size_t k = 0; k <= nodes_.size(); ++k) {
            const bool before_shuffle =
                k > 0 && k < nodes_.size() && std::holds_alternative<channel_shuffle_spec>(nodes_[k].spec);
            if (is_cut_point(k) && !before_shuffle) points.push_back(k);
        }
        return points;
    }
    [[nodiscard]] bool has_declared_branch_points() const noexcept {
        return !declared_branch_points_.empty();
    }
    /// Declares the branch points (each must be a cut point, ascending).
    void set_branch_points(std::vector<std::size_t> points) {
        for (std::size_t i = 0; i < points.size(); ++i) {
            if (!is_cut_point(points[i]))
                throw error("graph", "branch point " + std::to_string(points[i]) +
                                         " is not a cut point of this graph");
            if (i > 0 && points[i] <= points[i - 1])
                throw error("graph", "branch points must be strictly ascending");
        }
        declared_branch_points_ = std::move(points);
    }

    /// Layers [begin, end) as a graph of their own, weights copied: the stem (0, k) or the suffix
    /// (k, size()) of a model cut at k. Both ends must be cut points, so exactly one value enters
    /// (the output of layer begin - 1) and one leaves (the output of layer end - 1).
    [[nodiscard]] graph slice(std::size_t begin, std::size_t end) const {
        if (begin > end || end > nodes_.size())
            throw error("graph::slice", "range [" + std::to_string(begin) + ", " + std::to_string(end) +
                                            ") is outside a graph of " + std::to_string(nodes_.size()) +
                                            " layers");
        if (!is_cut_point(begin) || !is_cut_point(end))
            throw error("graph::slice", "[" + std::to_string(begin) + ", " + std::to_string(end) +
                                            ") does not start and end at cut points");
        const value_id offset = static_cast<value_id>(begin);
        graph out(shape_of(offset - 1));
        for (std::size_t i = begin; i < end; ++i) {
            const node& n = nodes_[i];
            std::vector<value_id> inputs;
            for (value_id v : n.inputs) inputs.push_back(v < offset ? graph_input : v - offset);
            out.add(n.name, n.spec, inputs);
            out.nodes_.back().params = n.params;
        }
        if (has_declared_branch_points()) {
            std::vector<std::size_t> points;
            for (std::size_t k : declared_branch_points_)
                if (k >= begin && k <= end) points.push_back(k - begin);
            out.declared_branch_points_ = std::move(points);
        }
        return out;
    }

private:
    shape input_;
    std::vector<node> nodes_;
    std::vector<std::size_t> declared_branch_points_;
};

}  // namespace stemshare
