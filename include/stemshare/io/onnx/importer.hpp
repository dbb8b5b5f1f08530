#pragma once
/// \file
/// Graph assembly for ONNX import: `onnx_detail::importer` decodes the initializers, turns the one
/// non-initializer graph input into the graph's input shape, lowers the nodes in file order
/// through op_table.hpp, and checks that the single graph output is the last layer.

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/io/onnx/decode_tensor.hpp>
#include <stemshare/io/onnx/import_context.hpp>
#include <stemshare/io/onnx/node.hpp>
#include <stemshare/io/onnx/onnx_proto.hpp>
#include <stemshare/io/onnx/op_table.hpp>

namespace stemshare::io::onnx_detail {

class importer {
public:
    importer(const onnx::ModelProto& model, std::filesystem::path base_dir, std::string source)
        : ctx_(model, std::move(base_dir), std::move(source)) {}

    graph run() {
        const auto& g = ctx_.model().graph();
        for (const auto& init : g.initializer())
            ctx_.set_value(init.name(), constant_value(decode_tensor(init, ctx_.base_dir(), ctx_.where())));

        graph result = make_graph();
        ctx_.attach(&result);
        for (int i = 0; i < g.node_size(); ++i) import_node(g.node(i), i);

        if (g.output_size() != 1)
            throw error(ctx_.where(), "has " + std::to_string(g.output_size()) +
                                          " outputs; stemshare imports single-output models");
        const std::string& out = g.output(0).name();
        const value& v = ctx_.lookup(out, "graph output");
        if (!v.pad_node.empty())
            throw error(ctx_.where(),
                        "output '" + out + "' is the output of the zero Pad '" + v.pad_node +
                            "', which stemshare imports only folded into a following Conv or pooling");
        if (v.what != value::kind::layer || v.shuffle != value::shuffle_view::none || v.id != result.last_value() || result.size() == 0)
            throw error(
                ctx_.where(),
                "output '" + out +
                    "' is not the result of the last layer; stemshare runs a graph up to its last layer");
        ctx_.attach(nullptr);
        return result;
    }

private:
    /// The graph for the one graph input that is not an initializer: a FLOAT image batch
    /// [N, C, H, W] with C, H and W fixed.
    graph make_graph() {
        const auto& g = ctx_.model().graph();
        std::set<std::string> initializers;
        for (const auto& init : g.initializer()) initializers.insert(init.name());
        const onnx::ValueInfoProto* input = nullptr;
        int count = 0;
        for (const auto& in : g.input())
            if (!initializers.contains(in.name())) {
                input = &in;
                ++count;
            }
        if (count != 1)
            throw error(ctx_.where(),
                        "has " + std::to_string(count) +
                            " graph inputs that are not initializers; stemshare imports single-input models");
        const std::string context = ctx_.where() + ": input '" + input->name() + "'";
        if (!input->type().has_tensor_type()) throw error(context, "is not a tensor");
        if (input->type().tensor_type().elem_type() != onnx::TensorProto_DataType_FLOAT)
            throw error(context, "has element type " +
                                     data_type_name(input->type().tensor_type().elem_type()) +
                                     ", stemshare needs FLOAT");
        const auto& dims_proto = input->type().tensor_type().shape();
        std::vector<std::int64_t> extents;
        std::string text = "[";
        for (const auto& d : dims_proto.dim()) {
            extents.push_back(d.has_dim_value() ? d.dim_value() : -1);
            text += (text.size() > 1 ? ", " : "") + (d.has_dim_value()       ? std::to_string(d.dim_value())
                                                     : d.dim_param().empty() ? std::string("?")
                                                                             : d.dim_param());
        }
        text += "]";
        if (extents.size() != 4)
            throw error(context, "has rank " + std::to_string(extents.size()) + " (" + text +
                                     "); stemshare needs a rank-4 image batch [N, C, H, W]");
        if (extents[1] <= 0 || extents[2] <= 0 || extents[3] <= 0)
            throw error(context, "has shape " + text + "; C, H and W must be fixed positive numbers");
        ctx_.set_input_batch(extents[0]);
        ctx_.set_value(input->name(), layer_value(graph_input, 4));
        return graph(shape{extents[1], extents[2], extents[3]});
    }

    void import_node(const onnx::NodeProto& proto, int index) {
        const std::string& op = proto.op_type();
        node_ctx n{proto, proto.name().empty() ? op + "_" + std::to_string(index) : proto.name(), {}, index};
        n.where =
            ctx_.where() + ": node '" + n.name + "' (" + op + ", opset " + std::to_string(ctx_.opset()) + ")";
        if (!proto.domain().empty() && proto.domain() != "ai.onnx")
            throw error(n.where, "operator '" + op + "' of domain '" + proto.domain() + "' is not supported");
        if (ctx_.fused(index)) return;
        lower_node(ctx_, n);
    }

    import_context ctx_;
};

/// Reads and parses an ONNX file; throws naming the file if it cannot be opened or parsed.
inline onnx::ModelProto parse_model(const std::filesystem::path& path) {
    const std::string where = "onnx '" + path.string() + "'";
    std::ifstream in(path, std::ios::binary);
    if (!in) throw error(where, "cannot open the file");
    onnx::ModelProto model;
    if (!model.ParseFromIstream(&in))
        throw error(where, "is not a valid ONNX model (protobuf parsing failed)");
    if (!model.has_graph()) throw error(where, "has no graph");
    return model;
}

}  // namespace stemshare::io::onnx_detail
