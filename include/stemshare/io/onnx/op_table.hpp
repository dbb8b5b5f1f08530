#pragma once
/// \file
/// The ONNX operators stemshare imports, as two tables: `layer_ops` lowers a node on computed
/// tensors into graph layers, `fold_ops` evaluates a node whose inputs are all constants (shape
/// arithmetic). `lower_node` dispatches one node through them. Adding an operator is one lowering
/// function (ops_*.hpp or fold.hpp) and one entry here; the "not supported" message lists
/// `layer_ops` by itself.

#include <array>
#include <string>
#include <string_view>

#include <stemshare/core/error.hpp>
#include <stemshare/io/onnx/constant.hpp>
#include <stemshare/io/onnx/fold.hpp>
#include <stemshare/io/onnx/import_context.hpp>
#include <stemshare/io/onnx/node.hpp>
#include <stemshare/io/onnx/ops_activation.hpp>
#include <stemshare/io/onnx/ops_conv.hpp>
#include <stemshare/io/onnx/ops_dense.hpp>
#include <stemshare/io/onnx/ops_pad.hpp>
#include <stemshare/io/onnx/ops_pool.hpp>
#include <stemshare/io/onnx/ops_shuffle.hpp>
#include <stemshare/io/onnx/ops_structure.hpp>

namespace stemshare::io::onnx_detail {

/// Lowers one node on computed tensors: adds its layers and defines its outputs.
using lower_fn = void (*)(import_context&, const node_ctx&);

/// Evaluates one node whose inputs are all constants; the result is its output 0.
using fold_fn = constant (*)(const import_context&, const node_ctx&);

struct layer_op {
    std::string_view op;  ///< ONNX op_type (default domain)
    lower_fn lower = nullptr;
    std::string_view listed_as;  ///< how the "not supported" message lists it; empty: `op`

    constexpr layer_op(std::string_view op_type, lower_fn f, std::string_view listed = {}) noexcept
        : op(op_type), lower(f), listed_as(listed) {}
};

struct fold_op {
    std::string_view op;
    fold_fn fold = nullptr;
};

/// Operators on computed tensors, in the order the "not supported" message lists them.
inline constexpr std::array layer_ops{
    layer_op{"Conv", lower_conv},
    layer_op{"BatchNormalization", lower_batch_norm},
    layer_op{"Relu", lower_relu},
    layer_op{"Sigmoid", lower_sigmoid},
    layer_op{"Clip", lower_clip, "Clip (relu6)"},
    layer_op{"HardSigmoid", lower_hard_sigmoid},
    layer_op{"HardSwish", lower_hard_swish},
    layer_op{"Add", lower_add},
    layer_op{"Mul", lower_mul, "Mul (same shape or per channel)"},
    layer_op{"Concat", lower_concat},
    layer_op{"MaxPool", lower_max_pool},
    layer_op{"AveragePool", lower_average_pool},
    layer_op{"GlobalAveragePool", lower_global_average_pool},
    layer_op{"Pad", lower_pad, "Pad (zero, on H and W, before a Conv or pooling)"},
    layer_op{"ReduceMean", lower_reduce_hw, "ReduceMean (over H, W)"},
    layer_op{"ReduceMax", lower_reduce_hw, "ReduceMax (over H, W)"},
    layer_op{"Gemm", lower_gemm},
    layer_op{"MatMul", lower_matmul},
    layer_op{"Flatten", lower_flatten},
    layer_op{"Reshape", lower_reshape_or_shuffle, "Reshape (as flatten or channel shuffle)"},
    layer_op{"Transpose", lower_transpose, "Transpose (in a channel shuffle)"},
    layer_op{"Split", lower_split, "Split (channels)"},
    layer_op{"Slice", lower_slice, "Slice (channels)"},
    layer_op{"Softmax", lower_softmax},
    layer_op{"Dropout", lower_pass_through},
    layer_op{"Identity", lower_pass_through},
};

/// Shape arithmetic folded when every input is constant. An op in both tables (Add, Concat,
/// Identity, Mul, Reshape, Slice, Transpose) is folded on constants and lowered to a layer otherwise.
inline constexpr std::array fold_ops{
    fold_op{"Constant", fold_constant}, fold_op{"Shape", fold_shape},
    fold_op{"Gather", fold_gather},     fold_op{"Unsqueeze", fold_unsqueeze},
    fold_op{"Squeeze", fold_squeeze},   fold_op{"Concat", fold_concat},
    fold_op{"Slice", fold_slice},       fold_op{"Cast", fold_cast},
    fold_op{"Add", fold_arithmetic},    fold_op{"Sub", fold_arithmetic},
    fold_op{"Mul", fold_arithmetic},    fold_op{"Div", fold_arithmetic},
    fold_op{"Identity", fold_identity}, fold_op{"Transpose", fold_transpose},
    fold_op{"ConstantOfShape", fold_constant_of_shape},  // F.pad's pads subgraph (ops_pad.hpp)
    fold_op{"Reshape", fold_reshape},
};

/// The table entry for `op`, or nullptr.
template <class Table>
[[nodiscard]] constexpr const typename Table::value_type* find_op(const Table& table, std::string_view op) {
    for (const auto& entry : table)
        if (entry.op == op) return &entry;
    return nullptr;
}

/// "Conv, BatchNormalization, ..., Identity": what `layer_ops` imports.
[[nodiscard]] inline std::string supported_ops() {
    std::string list;
    for (const layer_op& entry : layer_ops)
        list += std::string(list.empty() ? "" : ", ") +
                std::string(entry.listed_as.empty() ? entry.op : entry.listed_as);
    return list;
}

/// Lowers or folds one node of the default domain; throws naming the node for an operator that
/// has no entry, or shape arithmetic on a tensor computed from the image.
inline void lower_node(import_context& ctx, const node_ctx& n) {
    const std::string& op = n.proto.op_type();
    const fold_op* fold = find_op(fold_ops, op);
    if (fold && ctx.all_inputs_constant(n)) return ctx.define(n, 0, constant_value(fold->fold(ctx, n)));
    if (const layer_op* layer = find_op(layer_ops, op)) {
        refuse_shuffle_views(ctx, n);
        return layer->lower(ctx, n);
    }
    if (fold)
        throw error(n.where, "operator '" + op +
                                 "' is supported only on constant inputs (shape arithmetic); here input '" +
                                 ctx.first_non_constant(n) + "' depends on the image");
    throw error(n.where, "operator '" + op + "' is not supported; stemshare imports " + supported_ops() +
                             " and constant shape arithmetic");
}

}  // namespace stemshare::io::onnx_detail
