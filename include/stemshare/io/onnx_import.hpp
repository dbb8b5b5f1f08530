#pragma once
/// \file
/// ONNX import: `io::load_onnx("model.onnx")` parses the model with Debian's libonnx protobuf
/// classes and returns a `stemshare::graph` with every weight bound, ready for
/// `reference::run` or `onednn::compiled_graph`.
///
/// Supported operators (default domain), among others (op_table.hpp's `layer_ops` lists them all;
/// docs/bring-your-own-model.md the torchvision families tested): Conv (groups, strides, dilations,
/// symmetric or asymmetric pads, auto_pad), BatchNormalization (inference), Relu, Sigmoid, Clip(0, 6) as
/// relu6 and Clip(0, none) as relu, Add (residual; a constant Add right after MatMul becomes its bias),
/// Concat on channels, MaxPool (ceil_mode, dilations), AveragePool (count_include_pad),
/// GlobalAveragePool, Gemm
/// (alpha = beta = 1, transA = 0), MatMul with a constant right side, Flatten (axis 1), Reshape to
/// a constant shape that is a flatten, ShuffleNet's channel shuffle (Reshape -> Transpose ->
/// Reshape, ops_shuffle.hpp) and channel splits (Split or Slice on axis 1), Softmax over
/// channels, Dropout and Identity (no-ops).
/// Shape arithmetic with constant results (Constant, Shape, Gather, Unsqueeze, Squeeze, Concat,
/// Slice, Cast, Transpose, Add/Sub/Mul/Div on constants) is folded while importing, which covers the
/// Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain PyTorch emits for `x.view(x.size(0), -1)`.
/// Initializers come from raw_data, the typed fields or external data files (next to the model).
///
/// Everything else is refused with a `stemshare::error` naming the node, the operator, the opset
/// and the reason. This header needs protobuf and libonnx: it compiles only with
/// STEMSHARE_WITH_ONNX defined (link `stemshare::onnx`); the rest of stemshare never includes it.
///
/// The stages live in io/onnx/: decode_tensor.hpp (initializers), fold.hpp (shape arithmetic),
/// ops_*.hpp (one lowering function per operator), op_table.hpp (which function handles which
/// op_type; adding an operator is one function and one entry there) and importer.hpp (graph
/// assembly).

#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/io/onnx/constant.hpp>
#include <stemshare/io/onnx/decode_tensor.hpp>
#include <stemshare/io/onnx/importer.hpp>
#include <stemshare/io/onnx/onnx_proto.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::io {

/// Imports an already parsed model; `base_dir` is where external data files are looked up and
/// `source` names the model in error messages.
[[nodiscard]] inline graph import_onnx(const onnx::ModelProto& model, const std::filesystem::path& base_dir,
                                       const std::string& source = "<memory>") {
    return onnx_detail::importer(model, base_dir, source).run();
}

/// Reads `path` and returns its graph with all weights bound. Throws `stemshare::error` naming
/// the file, node, operator and opset for anything stemshare cannot run exactly.
[[nodiscard]] inline graph load_onnx(const std::filesystem::path& path) {
    const onnx::ModelProto model = onnx_detail::parse_model(path);
    return import_onnx(model, path.parent_path(), path.string());
}

/// The floating-point initializers of an ONNX file, by name and in file order: a weight source
/// for binding a compile-time chain (see io/bind_weights.hpp).
class onnx_weights {
public:
    explicit onnx_weights(const std::filesystem::path& path) : source_(path.string()) {
        const onnx::ModelProto model = onnx_detail::parse_model(path);
        for (const auto& init : model.graph().initializer()) {
            onnx_detail::constant c =
                onnx_detail::decode_tensor(init, path.parent_path(), "onnx '" + source_ + "'");
            if (c.integer || c.shape.size() > dims::max_rank || c.numel() == 0) continue;
            dims d(std::span<const std::int64_t>(c.shape));
            names_.push_back(init.name());
            tensors_.emplace(init.name(), onnx_detail::to_tensor(c, d));
        }
    }
    [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }
    [[nodiscard]] bool contains(std::string_view name) const { return tensors_.contains(std::string(name)); }
    [[nodiscard]] dims extents(std::string_view name) const { return get(name).extents(); }
    [[nodiscard]] tensor<float> load(std::string_view name) const { return get(name); }
    [[nodiscard]] std::string source() const { return "onnx '" + source_ + "'"; }

private:
    [[nodiscard]] const tensor<float>& get(std::string_view name) const {
        const auto it = tensors_.find(std::string(name));
        if (it == tensors_.end())
            throw error(source(), "no floating-point initializer named '" + std::string(name) + "'");
        return it->second;
    }
    std::string source_;
    std::vector<std::string> names_;
    std::map<std::string, tensor<float>> tensors_;
};

}  // namespace stemshare::io
