#pragma once
/// \file
/// `onnx_detail::import_context`: the state of one ONNX import (the graph being built, every named
/// value so far, how often each name is read) and the checked accessors the operators' lowering
/// functions use to read their inputs and define their outputs.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/io/onnx/constant.hpp>
#include <stemshare/io/onnx/node.hpp>
#include <stemshare/io/onnx/onnx_proto.hpp>
#include <stemshare/layers/geometry.hpp>
#include <stemshare/layers/layer_spec.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::io::onnx_detail {

/// A value flowing between ONNX nodes: a layer output in the stemshare graph (a feature map of
/// ONNX rank 4, or a flat rank-2 {N, K} tensor) or a constant.
struct value {
    enum class kind : std::uint8_t { layer, constant } what = kind::layer;
    value_id id = graph_input;
    std::size_t rank = 4;
    constant data;
    /// A zero Pad on height and width not applied yet: the value is layer `id` padded so, and only
    /// a Conv or a pooling that folds the padding into its own may read it (ops_pad.hpp).
    padding4 pad;
    std::string pad_node;  ///< the Pad node's name; empty when no padding is pending
    /// A channel shuffle half written (ops_shuffle.hpp): layer output `id` seen as
    /// [N, g, C/g, H, W] after the first Reshape (grouped) or as [N, C/g, g, H, W] after the
    /// Transpose (transposed), with g = `groups`. Only the pattern's next node may read it.
    enum class shuffle_view : std::uint8_t { none, grouped, transposed } shuffle = shuffle_view::none;
    std::int64_t groups = 0;
};

/// A layer output of the given ONNX rank as a value.
[[nodiscard]] inline value layer_value(value_id id, std::size_t rank) {
    value v;
    v.id = id;
    v.rank = rank;
    return v;
}

/// A constant as a value.
[[nodiscard]] inline value constant_value(constant c) {
    value v;
    v.what = value::kind::constant;
    v.data = std::move(c);
    return v;
}

class import_context {
public:
    /// Reads the default-domain opset and counts the readers of every name (node inputs and graph
    /// outputs), so a lowering can tell whether an output is used elsewhere.
    import_context(const onnx::ModelProto& model, std::filesystem::path base_dir, std::string source)
        : model_(model), base_dir_(std::move(base_dir)), source_(std::move(source)) {
        for (const auto& op : model_.opset_import())
            if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
        for (const auto& n : model_.graph().node())
            for (const auto& in : n.input()) ++readers_[in];
        for (const auto& out : model_.graph().output()) ++readers_[out.name()];
    }

    [[nodiscard]] std::string where() const { return "onnx '" + source_ + "'"; }
    [[nodiscard]] const onnx::ModelProto& model() const noexcept { return model_; }
    [[nodiscard]] const std::filesystem::path& base_dir() const noexcept { return base_dir_; }
    [[nodiscard]] std::int64_t opset() const noexcept { return opset_; }

    /// The graph input's batch extent as the file declares it (-1 when symbolic).
    [[nodiscard]] std::int64_t input_batch() const noexcept { return input_batch_; }
    void set_input_batch(std::int64_t n) noexcept { input_batch_ = n; }

    /// The graph layers are added to; `nullptr` detaches it.
    void attach(graph* g) noexcept { graph_ = g; }
    [[nodiscard]] shape shape_of(value_id id) const { return graph_->shape_of(id); }

    void set_value(const std::string& name, value v) { values_[name] = std::move(v); }
    /// The value named `name`, or nullptr.
    [[nodiscard]] const value* find(const std::string& name) const {
        const auto it = values_.find(name);
        return it == values_.end() ? nullptr : &it->second;
    }
    [[nodiscard]] const value& lookup(const std::string& name, const std::string& who) const {
        const value* v = find(name);
        if (!v)
            throw error(who, "input '" + name +
                                 "' is not defined: no initializer, graph input or earlier node output has "
                                 "this name (missing initializer?)");
        return *v;
    }

    /// How many nodes (and graph outputs) read `name`.
    [[nodiscard]] int readers(const std::string& name) const {
        const auto it = readers_.find(name);
        return it == readers_.end() ? 0 : it->second;
    }

    /// Marks node `index` as already lowered as part of an earlier node (MatMul + Add).
    void fuse(int index) { fused_.insert(index); }
    [[nodiscard]] bool fused(int index) const { return fused_.contains(index); }

    // ---- a node's inputs -------------------------------------------------------------------
    /// Input `i`; refuses the output of a zero Pad whose padding is still pending (ops_pad.hpp).
    [[nodiscard]] const value& input(const node_ctx& n, int i) const {
        const value& v = padded_input(n, i);
        if (!v.pad_node.empty())
            throw error(n.where, "input '" + n.proto.input(i) + "' is the output of the zero Pad '" +
                                     v.pad_node +
                                     "', which stemshare imports only folded into the padding of a Conv, "
                                     "MaxPool or AveragePool reading it, not into a " +
                                     n.proto.op_type());
        return v;
    }
    /// Input `i`, with any pending zero padding (for the nodes that fold it, and pass-throughs).
    [[nodiscard]] const value& padded_input(const node_ctx& n, int i) const {
        if (!has_input(n.proto, i)) throw error(n.where, "misses input " + std::to_string(i));
        return lookup(n.proto.input(i), n.where);
    }
    /// Input `i` as a computed tensor, with any pending zero padding.
    [[nodiscard]] const value& padded_layer_input(const node_ctx& n, int i) const {
        const value& v = padded_input(n, i);
        if (v.what != value::kind::layer)
            throw error(n.where, "input '" + n.proto.input(i) +
                                     "' is a constant; stemshare expects a computed tensor here");
        return v;
    }
    [[nodiscard]] const value& layer_input(const node_ctx& n, int i) const {
        const value& v = input(n, i);
        if (v.what != value::kind::layer)
            throw error(n.where, "input '" + n.proto.input(i) +
                                     "' is a constant; stemshare expects a computed tensor here");
        return v;
    }
    [[nodiscard]] const constant& const_input(const node_ctx& n, int i, const char* role) const {
        const value& v = input(n, i);
        if (v.what != value::kind::constant)
            throw error(n.where,
                        std::string(role) + " '" + n.proto.input(i) + "' must be an initializer or constant");
        return v.data;
    }
    [[nodiscard]] bool all_inputs_constant(const node_ctx& n) const {
        if (n.proto.op_type() == "Shape") return has_input(n.proto, 0) && values_.contains(n.proto.input(0));
        for (int i = 0; i < n.proto.input_size(); ++i)
            if (has_input(n.proto, i) && padded_input(n, i).what != value::kind::constant) return false;
        return true;
    }
    [[nodiscard]] std::string first_non_constant(const node_ctx& n) const {
        for (int i = 0; i < n.proto.input_size(); ++i)
            if (has_input(n.proto, i) && padded_input(n, i).what != value::kind::constant)
                return n.proto.input(i);
        return "?";
    }

    /// Whether layer output `id` cannot be negative, as far as its layer kinds show: a relu, relu6,
    /// sigmoid or hard-sigmoid, or a pooling or concat of such values (a max pool folds a zero
    /// padding exactly only on these, ops_pad.hpp).
    [[nodiscard]] bool non_negative(value_id id) const {
        if (id == graph_input) return false;
        const node& producer = graph_->at(static_cast<std::size_t>(id));
        if (const auto* a = std::get_if<activation_spec>(&producer.spec))
            return a->kind == activation_kind::relu || a->kind == activation_kind::relu6 ||
                   a->kind == activation_kind::sigmoid;
        if (const auto* g = std::get_if<gate_activation_spec>(&producer.spec))
            return g->kind == gate_kind::hard_sigmoid;
        if (std::holds_alternative<pool2d_spec>(producer.spec) ||
            std::holds_alternative<global_avg_pool_spec>(producer.spec) ||
            std::holds_alternative<concat_spec>(producer.spec)) {
            for (const value_id in : producer.inputs)
                if (!non_negative(in)) return false;
            return true;
        }
        return false;
    }

    /// The ONNX shape of a value: [N, C, H, W] or [N, K] with N the batch marker.
    [[nodiscard]] std::vector<std::int64_t> onnx_shape(const value& v) const {
        if (v.what == value::kind::constant) return v.data.shape;
        const shape s = graph_->shape_of(v.id);
        if (v.shuffle == value::shuffle_view::grouped)
            return {batch_extent, v.groups, s.c / v.groups, s.h, s.w};
        if (v.shuffle == value::shuffle_view::transposed)
            return {batch_extent, s.c / v.groups, v.groups, s.h, s.w};
        if (v.rank == 2) return {batch_extent, s.numel()};
        return {batch_extent, s.c, s.h + v.pad.top + v.pad.bottom, s.w + v.pad.left + v.pad.right};
    }

    // ---- a node's outputs ------------------------------------------------------------------
    void define(const node_ctx& n, int output, value v) {
        if (n.proto.output_size() <= output) throw error(n.where, "has no output " + std::to_string(output));
        values_[n.proto.output(output)] = std::move(v);
    }
    void define_layer(const node_ctx& n, value_id id, std::size_t rank) {
        define(n, 0, layer_value(id, rank));
    }

    /// Refuses a node whose second or later output is read: stemshare computes only the first.
    void only_first_output(const node_ctx& n) const {
        for (int i = 1; i < n.proto.output_size(); ++i)
            if (!n.proto.output(i).empty() && readers_.contains(n.proto.output(i)))
                throw error(n.where,
                            "output " + std::to_string(i) + " ('" + n.proto.output(i) +
                                "') is used; stemshare computes only the first output of this operator");
    }

    /// Adds a layer to the graph and binds its weights; a graph error is re-thrown naming the node.
    value_id add_layer(const node_ctx& n, layer_spec spec, std::vector<value_id> inputs,
                       std::vector<tensor<float>> params) {
        try {
            const value_id id = graph_->add(n.name, spec, std::move(inputs));
            graph_->bind(static_cast<std::size_t>(id), std::move(params));
            return id;
        } catch (const error& e) {
            throw error(n.where, e.what());
        }
    }

private:
    const onnx::ModelProto& model_;
    std::filesystem::path base_dir_;
    std::string source_;
    std::int64_t opset_ = 1;
    std::int64_t input_batch_ = -1;
    graph* graph_ = nullptr;
    std::map<std::string, value> values_;
    std::map<std::string, int> readers_;
    std::set<int> fused_;
};

/// Lowers a node that is one layer of `spec` on its first input, keeping the input's rank.
inline void lower_unary(import_context& ctx, const node_ctx& n, layer_spec spec) {
    const value& x = ctx.layer_input(n, 0);
    ctx.define_layer(n, ctx.add_layer(n, spec, {x.id}, {}), x.rank);
}

}  // namespace stemshare::io::onnx_detail
