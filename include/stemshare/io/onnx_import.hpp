#pragma once
/// \file
/// ONNX import: `io::load_onnx("model.onnx")` parses the model with Debian's libonnx protobuf
/// classes and returns a `stemshare::graph` with every weight bound, ready for
/// `reference::run` or `onednn::compiled_graph`.
///
/// Supported operators (default domain): Conv (groups, strides, symmetric or asymmetric pads,
/// auto_pad; dilation 1), BatchNormalization (inference), Relu, Sigmoid, Clip(0, 6) as relu6 and
/// Clip(0, none) as relu, Add (residual; a constant Add right after MatMul becomes its bias),
/// Concat on channels, MaxPool, AveragePool (count_include_pad), GlobalAveragePool, Gemm
/// (alpha = beta = 1, transA = 0), MatMul with a constant right side, Flatten (axis 1), Reshape to
/// a constant shape that is a flatten, Softmax over channels, Dropout and Identity (no-ops).
/// Shape arithmetic with constant results (Constant, Shape, Gather, Unsqueeze, Squeeze, Concat,
/// Slice, Cast, Transpose, Add/Sub/Mul/Div on constants) is folded while importing, which covers the
/// Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain PyTorch emits for `x.view(x.size(0), -1)`.
/// Initializers come from raw_data, the typed fields or external data files (next to the model).
///
/// Everything else is refused with a `stemshare::error` naming the node, the operator, the opset
/// and the reason. This header needs protobuf and libonnx: it compiles only with
/// STEMSHARE_WITH_ONNX defined (link `stemshare::onnx`); the rest of stemshare never includes it.

#if !defined(STEMSHARE_WITH_ONNX)
#error \
    "stemshare/io/onnx_import.hpp needs ONNX support: link the stemshare::onnx target (STEMSHARE_WITH_ONNX)"
#endif

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/io/half.hpp>
#include <stemshare/io/mapped_file.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::io {

namespace onnx_detail {

/// Stands for the batch extent in folded shape constants; it only survives as the leading
/// extent a Reshape keeps.
inline constexpr std::int64_t batch_extent = std::numeric_limits<std::int64_t>::min();

/// A constant tensor met during import: an initializer, a Constant node or a folded shape op.
struct constant {
    std::vector<std::int64_t> shape;
    bool integer = false;
    std::vector<double> values;  // exact for the int64 extents of shape arithmetic and for f32 weights

    [[nodiscard]] std::int64_t numel() const {
        std::int64_t n = 1;
        for (auto e : shape) n *= e;
        return n;
    }
    [[nodiscard]] std::int64_t as_int(std::size_t i) const { return static_cast<std::int64_t>(values[i]); }
};

inline std::string shape_text(const std::vector<std::int64_t>& s) {
    std::string t = "[";
    for (std::size_t i = 0; i < s.size(); ++i)
        t += (i ? ", " : "") + (s[i] == batch_extent ? std::string("N") : std::to_string(s[i]));
    return t + "]";
}

inline std::string data_type_name(int t) {
    return onnx::TensorProto_DataType_IsValid(t)
               ? onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(t))
               : "type " + std::to_string(t);
}

/// An external_data value (`offset`, `length`): a plain decimal integer that fits in 64 bits.
inline std::uint64_t external_number(const std::string& text, const std::string& context,
                                     const std::string& key) {
    std::uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::result_out_of_range)
        throw error(context, "external data '" + key + "' value '" + text + "' is too large");
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size())
        throw error(context,
                    "external data '" + key + "' value '" + text + "' is not a non-negative integer");
    return v;
}

/// Decodes a TensorProto (raw_data, typed fields or external data relative to `base_dir`).
inline constant decode_tensor(const onnx::TensorProto& t, const std::filesystem::path& base_dir,
                              const std::string& where) {
    const std::string context = where + ": tensor '" + t.name() + "'";
    constant c;
    // The element count, capped like safetensors' shapes (each extent at most 2^40, the product at
    // most 2^50) so it cannot overflow; the data actually present is compared with it before the
    // values are allocated.
    std::uint64_t numel = 1;
    for (auto d : t.dims()) {
        if (d < 0) throw error(context, "has a negative extent");
        c.shape.push_back(d);
        const auto extent = static_cast<std::uint64_t>(d);
        if (extent > (1ULL << 40U) || (extent != 0 && numel > (1ULL << 50U) / extent))
            throw error(context, "dims " + shape_text(c.shape) + " are too large");
        numel *= extent;
    }
    const auto count = static_cast<std::size_t>(numel);
    const int type = t.data_type();
    std::size_t elem = 0;
    switch (type) {
        case onnx::TensorProto_DataType_FLOAT:
        case onnx::TensorProto_DataType_INT32:
            elem = 4;
            break;
        case onnx::TensorProto_DataType_DOUBLE:
        case onnx::TensorProto_DataType_INT64:
            elem = 8;
            break;
        case onnx::TensorProto_DataType_FLOAT16:
        case onnx::TensorProto_DataType_BFLOAT16:
            elem = 2;
            break;
        case onnx::TensorProto_DataType_INT8:
        case onnx::TensorProto_DataType_UINT8:
        case onnx::TensorProto_DataType_BOOL:
            elem = 1;
            break;
        default:
            throw error(context, "data type " + data_type_name(type) + " is not supported");
    }
    c.integer = type != onnx::TensorProto_DataType_FLOAT && type != onnx::TensorProto_DataType_DOUBLE &&
                type != onnx::TensorProto_DataType_FLOAT16 && type != onnx::TensorProto_DataType_BFLOAT16;

    std::optional<mapped_file> external;
    std::string_view raw;
    if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
        std::string location;
        std::uint64_t offset = 0;
        std::optional<std::uint64_t> length;
        for (const auto& kv : t.external_data()) {
            if (kv.key() == "location")
                location = kv.value();
            else if (kv.key() == "offset")
                offset = external_number(kv.value(), context, "offset");
            else if (kv.key() == "length")
                length = external_number(kv.value(), context, "length");
        }
        if (location.empty()) throw error(context, "external data without a 'location'");
        const std::filesystem::path rel(location);
        if (rel.is_absolute() || std::any_of(rel.begin(), rel.end(), [](const auto& p) { return p == ".."; }))
            throw error(context, "external data location '" + location +
                                     "' must be a relative path inside the model's folder");
        const std::filesystem::path file = base_dir / rel;
        if (!std::filesystem::exists(file))
            throw error(context, "external data file '" + file.string() + "' does not exist");
        external.emplace(file);
        const auto bytes = external->bytes();
        const std::uint64_t len = length.value_or(bytes.size() >= offset ? bytes.size() - offset : 0);
        if (offset > bytes.size() || len > bytes.size() - offset)
            throw error(context, "external data at offset " + std::to_string(offset) + " with length " +
                                     std::to_string(len) + " runs past the end of '" + file.string() + "' (" +
                                     std::to_string(bytes.size()) + " bytes)");
        raw = std::string_view(reinterpret_cast<const char*>(bytes.data() + offset), len);
    } else if (t.has_raw_data()) {
        raw = t.raw_data();
    }

    if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL || t.has_raw_data()) {
        if (raw.size() != count * elem)
            throw error(context, "holds " + std::to_string(raw.size()) + " bytes but dims " +
                                     shape_text(c.shape) + " of " + data_type_name(type) + " need " +
                                     std::to_string(count * elem));
        c.values.resize(count);
        const char* p = raw.data();
        for (std::size_t i = 0; i < count; ++i, p += elem) {
            switch (type) {
                case onnx::TensorProto_DataType_FLOAT: {
                    float v = 0;
                    std::memcpy(&v, p, 4);
                    c.values[i] = v;
                } break;
                case onnx::TensorProto_DataType_DOUBLE: {
                    double v = 0;
                    std::memcpy(&v, p, 8);
                    c.values[i] = v;
                } break;
                case onnx::TensorProto_DataType_INT32: {
                    std::int32_t v = 0;
                    std::memcpy(&v, p, 4);
                    c.values[i] = v;
                } break;
                case onnx::TensorProto_DataType_INT64: {
                    std::int64_t v = 0;
                    std::memcpy(&v, p, 8);
                    c.values[i] = static_cast<double>(v);
                } break;
                case onnx::TensorProto_DataType_FLOAT16:
                case onnx::TensorProto_DataType_BFLOAT16: {
                    std::uint16_t v = 0;
                    std::memcpy(&v, p, 2);
                    c.values[i] = type == onnx::TensorProto_DataType_FLOAT16 ? f16_to_f32(v) : bf16_to_f32(v);
                } break;
                case onnx::TensorProto_DataType_INT8:
                    c.values[i] = static_cast<std::int8_t>(*p);
                    break;
                default:
                    c.values[i] = static_cast<std::uint8_t>(*p);
                    break;
            }
        }
        return c;
    }

    // Typed fields: floats in float_data, doubles in double_data, int64 in int64_data, and every
    // narrower type (int32, int8, uint8, bool and the 16-bit floats as bit patterns) in int32_data.
    std::size_t have = 0;
    switch (type) {
        case onnx::TensorProto_DataType_FLOAT:
            have = static_cast<std::size_t>(t.float_data_size());
            break;
        case onnx::TensorProto_DataType_DOUBLE:
            have = static_cast<std::size_t>(t.double_data_size());
            break;
        case onnx::TensorProto_DataType_INT64:
            have = static_cast<std::size_t>(t.int64_data_size());
            break;
        default:
            have = static_cast<std::size_t>(t.int32_data_size());
            break;
    }
    if (have != count)
        throw error(context, "holds " + std::to_string(have) + " values but dims " + shape_text(c.shape) +
                                 " need " + std::to_string(count));
    c.values.resize(count);
    switch (type) {
        case onnx::TensorProto_DataType_FLOAT:
            for (std::size_t i = 0; i < count; ++i) c.values[i] = t.float_data(static_cast<int>(i));
            break;
        case onnx::TensorProto_DataType_DOUBLE:
            for (std::size_t i = 0; i < count; ++i) c.values[i] = t.double_data(static_cast<int>(i));
            break;
        case onnx::TensorProto_DataType_INT64:
            for (std::size_t i = 0; i < count; ++i)
                c.values[i] = static_cast<double>(t.int64_data(static_cast<int>(i)));
            break;
        default:
            for (std::size_t i = 0; i < count; ++i) {
                const std::int32_t v = t.int32_data(static_cast<int>(i));
                if (type == onnx::TensorProto_DataType_FLOAT16)
                    c.values[i] = f16_to_f32(static_cast<std::uint16_t>(v));
                else if (type == onnx::TensorProto_DataType_BFLOAT16)
                    c.values[i] = bf16_to_f32(static_cast<std::uint16_t>(v));
                else
                    c.values[i] = v;
            }
            break;
    }
    return c;
}

/// A constant's values as an f32 tensor of the given dims (the importer has checked the count).
inline tensor<float> to_tensor(const constant& c, dims extents) {
    tensor<float> t(extents);
    for (std::size_t i = 0; i < c.values.size(); ++i)
        t[static_cast<std::int64_t>(i)] = static_cast<float>(c.values[i]);
    return t;
}

/// A value flowing between ONNX nodes: a layer output in the stemshare graph (a feature map of
/// ONNX rank 4, or a flat rank-2 {N, K} tensor) or a constant.
struct value {
    enum class kind : std::uint8_t { layer, constant } what = kind::layer;
    value_id id = graph_input;
    std::size_t rank = 4;
    constant data;
};

class importer {
public:
    importer(const onnx::ModelProto& model, std::filesystem::path base_dir, std::string source)
        : model_(model), base_dir_(std::move(base_dir)), source_(std::move(source)) {
        for (const auto& op : model_.opset_import())
            if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
    }

    graph run() {
        const auto& g = model_.graph();
        for (const auto& init : g.initializer())
            values_[init.name()] = as_constant(decode_tensor(init, base_dir_, where()));
        for (const auto& n : g.node())
            for (const auto& in : n.input()) ++readers_[in];
        for (const auto& out : g.output()) ++readers_[out.name()];

        graph result = make_graph();
        graph_ = &result;
        for (int i = 0; i < g.node_size(); ++i) import_node(g.node(i), i);

        if (g.output_size() != 1)
            throw error(where(), "has " + std::to_string(g.output_size()) +
                                     " outputs; stemshare imports single-output models");
        const std::string& out = g.output(0).name();
        const value& v = lookup(out, "graph output");
        if (v.what != value::kind::layer || v.id != result.last_value() || result.size() == 0)
            throw error(
                where(),
                "output '" + out +
                    "' is not the result of the last layer; stemshare runs a graph up to its last layer");
        graph_ = nullptr;
        return result;
    }

private:
    [[nodiscard]] std::string where() const { return "onnx '" + source_ + "'"; }

    static value as_constant(constant c) {
        value v;
        v.what = value::kind::constant;
        v.data = std::move(c);
        return v;
    }

    graph make_graph() {
        const auto& g = model_.graph();
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
            throw error(where(),
                        "has " + std::to_string(count) +
                            " graph inputs that are not initializers; stemshare imports single-input models");
        const std::string context = where() + ": input '" + input->name() + "'";
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
        input_batch_ = extents[0];
        value v;
        v.id = graph_input;
        v.rank = 4;
        values_[input->name()] = v;
        return graph(shape{extents[1], extents[2], extents[3]});
    }

    const value& lookup(const std::string& name, const std::string& who) const {
        const auto it = values_.find(name);
        if (it == values_.end())
            throw error(who, "input '" + name +
                                 "' is not defined: no initializer, graph input or earlier node output has "
                                 "this name (missing initializer?)");
        return it->second;
    }

    // ---- per-node helpers -------------------------------------------------------------------
    struct node_ctx {
        const onnx::NodeProto& proto;
        std::string name;
        std::string where;
    };

    [[nodiscard]] static bool has_input(const onnx::NodeProto& n, int i) {
        return n.input_size() > i && !n.input(i).empty();
    }

    const value& input(const node_ctx& n, int i) const {
        if (!has_input(n.proto, i)) throw error(n.where, "misses input " + std::to_string(i));
        return lookup(n.proto.input(i), n.where);
    }
    const value& layer_input(const node_ctx& n, int i) const {
        const value& v = input(n, i);
        if (v.what != value::kind::layer)
            throw error(n.where, "input '" + n.proto.input(i) +
                                     "' is a constant; stemshare expects a computed tensor here");
        return v;
    }
    const constant& const_input(const node_ctx& n, int i, const char* role) const {
        const value& v = input(n, i);
        if (v.what != value::kind::constant)
            throw error(n.where,
                        std::string(role) + " '" + n.proto.input(i) + "' must be an initializer or constant");
        return v.data;
    }

    static const onnx::AttributeProto* attr(const onnx::NodeProto& n, std::string_view name) {
        for (const auto& a : n.attribute())
            if (a.name() == name) return &a;
        return nullptr;
    }
    static std::int64_t attr_int(const onnx::NodeProto& n, std::string_view name, std::int64_t fallback) {
        const auto* a = attr(n, name);
        return a ? a->i() : fallback;
    }
    static float attr_float(const onnx::NodeProto& n, std::string_view name, float fallback) {
        const auto* a = attr(n, name);
        return a ? a->f() : fallback;
    }
    static std::vector<std::int64_t> attr_ints(const onnx::NodeProto& n, std::string_view name,
                                               std::vector<std::int64_t> fallback) {
        const auto* a = attr(n, name);
        if (!a) return fallback;
        return {a->ints().begin(), a->ints().end()};
    }
    static std::string attr_string(const onnx::NodeProto& n, std::string_view name, std::string fallback) {
        const auto* a = attr(n, name);
        return a ? a->s() : fallback;
    }

    void define(const node_ctx& n, int output, value v) {
        if (n.proto.output_size() <= output) throw error(n.where, "has no output " + std::to_string(output));
        values_[n.proto.output(output)] = std::move(v);
    }
    void define_layer(const node_ctx& n, value_id id, std::size_t rank) {
        value v;
        v.id = id;
        v.rank = rank;
        define(n, 0, v);
    }
    void only_first_output(const node_ctx& n) const {
        for (int i = 1; i < n.proto.output_size(); ++i)
            if (!n.proto.output(i).empty() && readers_.contains(n.proto.output(i)))
                throw error(n.where,
                            "output " + std::to_string(i) + " ('" + n.proto.output(i) +
                                "') is used; stemshare computes only the first output of this operator");
    }

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

    // ---- the operators ----------------------------------------------------------------------
    void import_node(const onnx::NodeProto& proto, int index) {
        const std::string op = proto.op_type();
        node_ctx n{proto, proto.name().empty() ? op + "_" + std::to_string(index) : proto.name(), {}};
        n.where = where() + ": node '" + n.name + "' (" + op + ", opset " + std::to_string(opset_) + ")";
        if (!proto.domain().empty() && proto.domain() != "ai.onnx")
            throw error(n.where, "operator '" + op + "' of domain '" + proto.domain() + "' is not supported");
        if (fused_.contains(index)) return;

        if (is_shape_op(op) && all_inputs_constant(n)) return fold(n, op);
        if (op == "Conv") return conv(n);
        if (op == "BatchNormalization") return batch_norm(n);
        if (op == "Relu") return unary(n, activation_spec{activation_kind::relu});
        if (op == "Sigmoid") return unary(n, activation_spec{activation_kind::sigmoid});
        if (op == "Clip") return clip(n);
        if (op == "Add") return add(n);
        if (op == "Concat") return concat(n);
        if (op == "MaxPool" || op == "AveragePool") return pool(n, op == "MaxPool");
        if (op == "GlobalAveragePool") return unary(n, global_avg_pool_spec{});
        if (op == "Gemm") return gemm(n);
        if (op == "MatMul") return matmul(n, index);
        if (op == "Flatten") return flatten(n);
        if (op == "Reshape") return reshape(n);
        if (op == "Softmax") return softmax(n);
        if (op == "Dropout" || op == "Identity") {
            only_first_output(n);
            return define(n, 0, input(n, 0));
        }
        if (is_shape_op(op))
            throw error(n.where,
                        "operator '" + op +
                            "' is supported only on constant inputs (shape arithmetic); here input '" +
                            first_non_constant(n) + "' depends on the image");
        throw error(
            n.where,
            "operator '" + op +
                "' is not supported; stemshare imports Conv, BatchNormalization, Relu, Sigmoid, "
                "Clip (relu6), Add, Concat, MaxPool, AveragePool, GlobalAveragePool, Gemm, MatMul, Flatten, "
                "Reshape (as flatten), Softmax, Dropout, Identity and constant shape arithmetic");
    }

    static bool is_shape_op(const std::string& op) {
        return op == "Constant" || op == "Shape" || op == "Gather" || op == "Unsqueeze" || op == "Squeeze" ||
               op == "Concat" || op == "Slice" || op == "Cast" || op == "Add" || op == "Sub" || op == "Mul" ||
               op == "Div" || op == "Identity" || op == "Transpose";
    }
    bool all_inputs_constant(const node_ctx& n) const {
        if (n.proto.op_type() == "Shape") return has_input(n.proto, 0) && values_.contains(n.proto.input(0));
        for (int i = 0; i < n.proto.input_size(); ++i)
            if (has_input(n.proto, i) && input(n, i).what != value::kind::constant) return false;
        return true;
    }
    std::string first_non_constant(const node_ctx& n) const {
        for (int i = 0; i < n.proto.input_size(); ++i)
            if (has_input(n.proto, i) && input(n, i).what != value::kind::constant) return n.proto.input(i);
        return "?";
    }

    /// The ONNX shape of a value: [N, C, H, W] or [N, K] with N the batch marker.
    std::vector<std::int64_t> onnx_shape(const value& v) const {
        if (v.what == value::kind::constant) return v.data.shape;
        const shape s = graph_->shape_of(v.id);
        if (v.rank == 2) return {batch_extent, s.numel()};
        return {batch_extent, s.c, s.h, s.w};
    }

    void fold(const node_ctx& n, const std::string& op) {
        constant out;
        out.integer = true;
        if (op == "Constant") {
            const auto* a = attr(n.proto, "value");
            if (a && a->has_t()) {
                out = decode_tensor(a->t(), base_dir_, n.where);
            } else if (const auto* ints = attr(n.proto, "value_ints")) {
                out.shape = {ints->ints_size()};
                for (auto x : ints->ints()) out.values.push_back(static_cast<double>(x));
            } else if (const auto* i = attr(n.proto, "value_int")) {
                out.values = {static_cast<double>(i->i())};
            } else if (const auto* f = attr(n.proto, "value_float")) {
                out.integer = false;
                out.values = {f->f()};
            } else if (const auto* fs = attr(n.proto, "value_floats")) {
                out.integer = false;
                out.shape = {fs->floats_size()};
                for (auto x : fs->floats()) out.values.push_back(x);
            } else {
                throw error(
                    n.where,
                    "Constant without a supported value attribute (value, value_int(s), value_float(s))");
            }
        } else if (op == "Shape") {
            const auto s = onnx_shape(input(n, 0));
            auto rank = static_cast<std::int64_t>(s.size());
            auto start = attr_int(n.proto, "start", 0);
            auto end = attr_int(n.proto, "end", rank);
            if (start < 0) start += rank;
            if (end < 0) end += rank;
            start = std::clamp<std::int64_t>(start, 0, rank);
            end = std::clamp<std::int64_t>(end, start, rank);
            for (auto i = start; i < end; ++i)
                out.values.push_back(static_cast<double>(s[static_cast<std::size_t>(i)]));
            out.shape = {end - start};
        } else if (op == "Identity") {
            out = input(n, 0).data;
        } else if (op == "Transpose") {
            const constant& a = input(n, 0).data;
            if (a.shape.size() != 2 || attr_ints(n.proto, "perm", {1, 0}) != std::vector<std::int64_t>{1, 0})
                throw error(n.where, "Transpose is folded only on 2-D constants with perm [1, 0]");
            out.integer = a.integer;
            out.shape = {a.shape[1], a.shape[0]};
            for (std::int64_t c = 0; c < a.shape[1]; ++c)
                for (std::int64_t r = 0; r < a.shape[0]; ++r)
                    out.values.push_back(a.values[static_cast<std::size_t>(r * a.shape[1] + c)]);
        } else if (op == "Cast") {
            out = input(n, 0).data;
            const auto to = attr_int(n.proto, "to", onnx::TensorProto_DataType_FLOAT);
            out.integer = to != onnx::TensorProto_DataType_FLOAT && to != onnx::TensorProto_DataType_DOUBLE &&
                          to != onnx::TensorProto_DataType_FLOAT16 &&
                          to != onnx::TensorProto_DataType_BFLOAT16;
            if (out.integer)
                for (auto& x : out.values)
                    if (x != batch_extent) x = std::trunc(x);
        } else if (op == "Gather") {
            const constant& data = input(n, 0).data;
            const constant& idx = input(n, 1).data;
            if (data.shape.size() != 1 || attr_int(n.proto, "axis", 0) != 0)
                throw error(n.where, "Gather is folded only on 1-D constants along axis 0, got data " +
                                         shape_text(data.shape));
            out.integer = data.integer;
            out.shape = idx.shape;
            for (std::size_t i = 0; i < idx.values.size(); ++i) {
                auto k = idx.as_int(i);
                if (k < 0) k += data.shape[0];
                if (k < 0 || k >= data.shape[0])
                    throw error(n.where,
                                "Gather index " + std::to_string(idx.as_int(i)) + " is out of range");
                out.values.push_back(data.values[static_cast<std::size_t>(k)]);
            }
        } else if (op == "Unsqueeze" || op == "Squeeze") {
            out = input(n, 0).data;
            std::vector<std::int64_t> axes = attr_ints(n.proto, "axes", {});
            if (has_input(n.proto, 1)) {
                const constant& a = input(n, 1).data;
                for (std::size_t i = 0; i < a.values.size(); ++i) axes.push_back(a.as_int(i));
            }
            if (op == "Unsqueeze") {
                const auto rank = static_cast<std::int64_t>(out.shape.size() + axes.size());
                for (auto& a : axes) a = a < 0 ? a + rank : a;
                std::sort(axes.begin(), axes.end());
                for (auto a : axes) {
                    if (a < 0 || a > static_cast<std::int64_t>(out.shape.size()))
                        throw error(n.where, "Unsqueeze axis out of range");
                    out.shape.insert(out.shape.begin() + a, 1);
                }
            } else {
                std::vector<std::int64_t> kept;
                const auto rank = static_cast<std::int64_t>(out.shape.size());
                for (std::int64_t i = 0; i < rank; ++i) {
                    const bool squeeze = axes.empty()
                                             ? out.shape[static_cast<std::size_t>(i)] == 1
                                             : std::any_of(axes.begin(), axes.end(), [&](std::int64_t a) {
                                                   return (a < 0 ? a + rank : a) == i;
                                               });
                    if (!squeeze) kept.push_back(out.shape[static_cast<std::size_t>(i)]);
                }
                out.shape = kept;
            }
        } else if (op == "Concat") {
            const auto axis = attr_int(n.proto, "axis", 0);
            for (int i = 0; i < n.proto.input_size(); ++i) {
                const constant& c = input(n, i).data;
                if (c.shape.size() != 1 || (axis != 0 && axis != -1))
                    throw error(n.where,
                                "Concat is folded only on 1-D constants, got " + shape_text(c.shape));
                out.integer = i == 0 ? c.integer : out.integer && c.integer;
                out.values.insert(out.values.end(), c.values.begin(), c.values.end());
            }
            out.shape = {static_cast<std::int64_t>(out.values.size())};
        } else if (op == "Slice") {
            const constant& data = input(n, 0).data;
            if (data.shape.size() != 1) throw error(n.where, "Slice is folded only on 1-D constants");
            const auto len = data.shape[0];
            auto first = [&](int i, std::int64_t fallback) {
                return has_input(n.proto, i) ? input(n, i).data.as_int(0) : fallback;
            };
            std::int64_t start = first(1, 0), end = first(2, len), step = first(4, 1);
            if (has_input(n.proto, 3) && input(n, 3).data.as_int(0) != 0 && input(n, 3).data.as_int(0) != -1)
                throw error(n.where, "Slice axis must be 0 on a 1-D constant");
            if (step != 1) throw error(n.where, "Slice is folded only with step 1");
            if (start < 0) start += len;
            if (end < 0) end += len;
            start = std::clamp<std::int64_t>(start, 0, len);
            end = std::clamp<std::int64_t>(end, start, len);
            out.integer = data.integer;
            out.values.assign(data.values.begin() + start, data.values.begin() + end);
            out.shape = {end - start};
        } else {  // Add, Sub, Mul, Div on constants
            const constant& a = input(n, 0).data;
            const constant& b = input(n, 1).data;
            const bool a_scalar = a.values.size() == 1, b_scalar = b.values.size() == 1;
            if (a.values.size() != b.values.size() && !a_scalar && !b_scalar)
                throw error(n.where, op + " is folded only on constants of equal size or with a scalar");
            out.integer = a.integer && b.integer;
            out.shape = a_scalar && !b_scalar ? b.shape : a.shape;
            const std::size_t size = std::max(a.values.size(), b.values.size());
            for (std::size_t i = 0; i < size; ++i) {
                const double x = a.values[a_scalar ? 0 : i], y = b.values[b_scalar ? 0 : i];
                if (x == batch_extent || y == batch_extent)
                    throw error(n.where, op + " on the batch size cannot be folded to a constant");
                double r = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y;
                if (out.integer && op == "Div") r = std::trunc(r);
                out.values.push_back(r);
            }
        }
        define(n, 0, as_constant(std::move(out)));
    }

    void unary(const node_ctx& n, layer_spec spec) {
        const value& x = layer_input(n, 0);
        define_layer(n, add_layer(n, spec, {x.id}, {}), x.rank);
    }

    void conv(const node_ctx& n) {
        const value& x = layer_input(n, 0);
        if (x.rank != 4) throw error(n.where, "input must be a rank-4 feature map");
        const constant& w = const_input(n, 1, "weight");
        if (w.shape.size() != 4)
            throw error(n.where, "weight has dims " + shape_text(w.shape) +
                                     "; only 2-D convolution (rank-4 weight) is supported");
        for (auto d : attr_ints(n.proto, "dilations", {1, 1}))
            if (d != 1) throw error(n.where, "dilation " + std::to_string(d) + " is not supported (only 1)");
        const auto kernel = attr_ints(n.proto, "kernel_shape", {w.shape[2], w.shape[3]});
        if (kernel.size() != 2 || kernel[0] != w.shape[2] || kernel[1] != w.shape[3])
            throw error(n.where, "kernel_shape " + shape_text(kernel) + " disagrees with the weight dims " +
                                     shape_text(w.shape));
        const auto strides = attr_ints(n.proto, "strides", {1, 1});
        if (strides.size() != 2) throw error(n.where, "strides must have 2 values");
        const shape in = graph_->shape_of(x.id);
        conv2d_spec spec{.out_channels = w.shape[0],
                         .kernel = {kernel[0], kernel[1]},
                         .stride = {strides[0], strides[1]},
                         .padding = pads(n, in, kernel, strides),
                         .groups = attr_int(n.proto, "group", 1),
                         .bias = has_input(n.proto, 2)};
        std::vector<tensor<float>> params;
        params.push_back(to_tensor(w, dims{w.shape[0], w.shape[1], w.shape[2], w.shape[3]}));
        if (spec.bias) {
            const constant& b = const_input(n, 2, "bias");
            if (b.numel() != spec.out_channels)
                throw error(n.where, "bias has dims " + shape_text(b.shape) + ", expected [" +
                                         std::to_string(spec.out_channels) + "]");
            params.push_back(to_tensor(b, dims{spec.out_channels}));
        }
        if (in.c != w.shape[1] * spec.groups)
            throw error(n.where, "weight dims " + shape_text(w.shape) + " with group " +
                                     std::to_string(spec.groups) + " need " +
                                     std::to_string(w.shape[1] * spec.groups) +
                                     " input channels, the input has " + std::to_string(in.c));
        define_layer(n, add_layer(n, spec, {x.id}, std::move(params)), 4);
    }

    /// pads / auto_pad -> padding4 (ONNX order is [top, left, bottom, right], as padding4's).
    padding4 pads(const node_ctx& n, shape in, const std::vector<std::int64_t>& kernel,
                  const std::vector<std::int64_t>& strides) const {
        const std::string auto_pad = attr_string(n.proto, "auto_pad", "NOTSET");
        if (auto_pad == "NOTSET" || auto_pad.empty()) {
            const auto p = attr_ints(n.proto, "pads", {0, 0, 0, 0});
            if (p.size() != 4) throw error(n.where, "pads must have 4 values");
            return {p[0], p[1], p[2], p[3]};
        }
        if (auto_pad == "VALID") return {0};
        if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
            throw error(n.where, "auto_pad '" + auto_pad + "' is not supported");
        auto split = [&](std::int64_t size, std::int64_t k, std::int64_t s) {
            const std::int64_t out = (size + s - 1) / s;
            const std::int64_t total = std::max<std::int64_t>((out - 1) * s + k - size, 0);
            const std::int64_t small = total / 2;
            return auto_pad == "SAME_UPPER" ? std::pair{small, total - small}
                                            : std::pair{total - small, small};
        };
        const auto [t, b] = split(in.h, kernel[0], strides[0]);
        const auto [l, r] = split(in.w, kernel[1], strides[1]);
        return {t, l, b, r};
    }

    void batch_norm(const node_ctx& n) {
        const value& x = layer_input(n, 0);
        if (attr_int(n.proto, "training_mode", 0) != 0)
            throw error(n.where, "training_mode=1 is not supported (inference only)");
        only_first_output(n);
        const std::int64_t c = graph_->shape_of(x.id).c;
        std::vector<tensor<float>> params;
        const char* roles[] = {"scale", "bias", "mean", "var"};
        for (int i = 1; i <= 4; ++i) {
            const constant& p = const_input(n, i, roles[i - 1]);
            if (p.numel() != c)
                throw error(n.where, std::string(roles[i - 1]) + " has dims " + shape_text(p.shape) +
                                         ", expected [" + std::to_string(c) + "]");
            params.push_back(to_tensor(p, dims{c}));
        }
        define_layer(n,
                     add_layer(n, batch_norm_spec{.epsilon = attr_float(n.proto, "epsilon", 1e-5F)}, {x.id},
                               std::move(params)),
                     x.rank);
    }

    void clip(const node_ctx& n) {
        float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
        if (opset_ < 11) {
            lo = attr_float(n.proto, "min", lo);
            hi = attr_float(n.proto, "max", hi);
        } else {
            if (has_input(n.proto, 1)) lo = static_cast<float>(const_input(n, 1, "min").values.at(0));
            if (has_input(n.proto, 2)) hi = static_cast<float>(const_input(n, 2, "max").values.at(0));
        }
        if (lo == 0.0F && hi == 6.0F) return unary(n, activation_spec{activation_kind::relu6});
        if (lo == 0.0F && std::isinf(hi) && hi > 0) return unary(n, activation_spec{activation_kind::relu});
        throw error(n.where, "Clip(" + std::to_string(lo) + ", " + std::to_string(hi) +
                                 ") is not supported; only Clip(0, 6) (relu6) and Clip(0, none) (relu) are");
    }

    void add(const node_ctx& n) {
        const value& a = input(n, 0);
        const value& b = input(n, 1);
        if (a.what != value::kind::layer || b.what != value::kind::layer)
            throw error(n.where,
                        "adding a constant tensor is supported only as the bias right after a MatMul");
        if (a.rank != b.rank) throw error(n.where, "inputs have different ranks");
        define_layer(n, add_layer(n, add_spec{}, {a.id, b.id}, {}), a.rank);
    }

    void concat(const node_ctx& n) {
        std::vector<value_id> ins;
        std::size_t rank = 0;
        for (int i = 0; i < n.proto.input_size(); ++i) {
            const value& v = layer_input(n, i);
            if (i > 0 && v.rank != rank) throw error(n.where, "inputs have different ranks");
            rank = v.rank;
            ins.push_back(v.id);
        }
        auto axis = attr_int(n.proto, "axis", 1);
        if (axis < 0) axis += static_cast<std::int64_t>(rank);
        if (axis != 1)
            throw error(n.where, "Concat along axis " + std::to_string(axis) +
                                     " is not supported; only the channel axis 1 is");
        define_layer(n, add_layer(n, concat_spec{}, ins, {}), rank);
    }

    void pool(const node_ctx& n, bool is_max) {
        const value& x = layer_input(n, 0);
        if (x.rank != 4) throw error(n.where, "input must be a rank-4 feature map");
        only_first_output(n);
        const auto kernel = attr_ints(n.proto, "kernel_shape", {});
        if (kernel.size() != 2) throw error(n.where, "kernel_shape must have 2 values");
        const auto strides = attr_ints(n.proto, "strides", {1, 1});
        if (strides.size() != 2) throw error(n.where, "strides must have 2 values");
        for (auto d : attr_ints(n.proto, "dilations", {1, 1}))
            if (d != 1) throw error(n.where, "dilation " + std::to_string(d) + " is not supported (only 1)");
        const shape in = graph_->shape_of(x.id);
        pool2d_spec spec{.kind = is_max ? pool_kind::max : pool_kind::avg,
                         .kernel = {kernel[0], kernel[1]},
                         .stride = {strides[0], strides[1]},
                         .padding = pads(n, in, kernel, strides),
                         .count_include_pad = attr_int(n.proto, "count_include_pad", 0) != 0};
        if (attr_int(n.proto, "ceil_mode", 0) != 0) {
            // Ceil mode adds one more window where it still starts inside the input or the
            // leading pad; for max pooling that is the same as extra padding at the end.
            auto ceil_out = [](std::int64_t size, std::int64_t before, std::int64_t after, std::int64_t k,
                               std::int64_t s) {
                std::int64_t out = (size + before + after - k + s - 1) / s + 1;
                if ((out - 1) * s >= size + before) --out;
                return out;
            };
            const auto oh =
                ceil_out(in.h, spec.padding.top, spec.padding.bottom, spec.kernel.h, spec.stride.h);
            const auto ow =
                ceil_out(in.w, spec.padding.left, spec.padding.right, spec.kernel.w, spec.stride.w);
            const shape floor_shape = spec.output_shape(in);
            if (oh != floor_shape.h || ow != floor_shape.w) {
                if (!is_max)
                    throw error(
                        n.where,
                        "ceil_mode=1 changes the output size of this AveragePool, which is not supported");
                spec.padding.bottom += (oh - 1) * spec.stride.h + spec.kernel.h -
                                       (in.h + spec.padding.top + spec.padding.bottom);
                spec.padding.right += (ow - 1) * spec.stride.w + spec.kernel.w -
                                      (in.w + spec.padding.left + spec.padding.right);
            }
        }
        define_layer(n, add_layer(n, spec, {x.id}, {}), 4);
    }

    /// Rejects a rank-2 left operand whose per-image size is not K.
    static void check_features(const node_ctx& n, const graph& g, const value& a, std::int64_t k) {
        if (a.rank != 2)
            throw error(n.where, "left input must be a rank-2 [N, K] tensor (flatten the feature map first)");
        if (g.shape_of(a.id).numel() != k)
            throw error(n.where, "left input has " + std::to_string(g.shape_of(a.id).numel()) +
                                     " features, the weight expects " + std::to_string(k));
    }

    static std::vector<tensor<float>> dense_params(const constant& w, bool transposed, const constant* bias,
                                                   std::int64_t out, std::int64_t k, const node_ctx& n) {
        tensor<float> weight(dims{out, k});
        for (std::int64_t o = 0; o < out; ++o)
            for (std::int64_t i = 0; i < k; ++i)
                weight[o * k + i] = static_cast<float>(
                    w.values[static_cast<std::size_t>(transposed ? o * k + i : i * out + o)]);
        std::vector<tensor<float>> params;
        params.push_back(std::move(weight));
        if (bias) {
            if (bias->numel() != out && bias->numel() != 1)
                throw error(n.where, "bias has dims " + shape_text(bias->shape) + ", expected [" +
                                         std::to_string(out) + "]");
            tensor<float> b(dims{out});
            for (std::int64_t o = 0; o < out; ++o)
                b[o] = static_cast<float>(bias->values[bias->numel() == 1 ? 0 : static_cast<std::size_t>(o)]);
            params.push_back(std::move(b));
        }
        return params;
    }

    void gemm(const node_ctx& n) {
        if (attr_float(n.proto, "alpha", 1.0F) != 1.0F || attr_float(n.proto, "beta", 1.0F) != 1.0F)
            throw error(n.where, "alpha and beta other than 1 are not supported");
        if (attr_int(n.proto, "transA", 0) != 0) throw error(n.where, "transA=1 is not supported");
        const value& a = layer_input(n, 0);
        const constant& w = const_input(n, 1, "weight B");
        if (w.shape.size() != 2)
            throw error(n.where, "weight B has dims " + shape_text(w.shape) + ", expected a matrix");
        const bool trans_b = attr_int(n.proto, "transB", 0) != 0;
        const std::int64_t out = trans_b ? w.shape[0] : w.shape[1];
        const std::int64_t k = trans_b ? w.shape[1] : w.shape[0];
        check_features(n, *graph_, a, k);
        const constant* bias = has_input(n.proto, 2) ? &const_input(n, 2, "bias C") : nullptr;
        define_layer(n,
                     add_layer(n, dense_spec{.out_features = out, .bias = bias != nullptr}, {a.id},
                               dense_params(w, trans_b, bias, out, k, n)),
                     2);
    }

    void matmul(const node_ctx& n, int index) {
        const value& a = layer_input(n, 0);
        const constant& w = const_input(n, 1, "right operand");
        if (w.shape.size() != 2)
            throw error(n.where, "right operand has dims " + shape_text(w.shape) + ", expected a matrix");
        const std::int64_t k = w.shape[0], out = w.shape[1];
        check_features(n, *graph_, a, k);
        // MatMul + Add(constant) is how PyTorch writes a linear layer by hand: fold the Add in as the bias.
        const auto& nodes = model_.graph().node();
        const std::string& result = n.proto.output(0);
        const constant* bias = nullptr;
        int bias_node = -1;
        if (readers_[result] == 1)
            for (int j = index + 1; j < nodes.size(); ++j) {
                const auto& c = nodes[j];
                if (c.op_type() != "Add" || c.input_size() != 2 ||
                    (c.input(0) != result && c.input(1) != result))
                    continue;
                const std::string& other = c.input(0) == result ? c.input(1) : c.input(0);
                const auto it = values_.find(other);
                if (it != values_.end() && it->second.what == value::kind::constant &&
                    (it->second.data.numel() == out || it->second.data.numel() == 1)) {
                    bias = &it->second.data;
                    bias_node = j;
                }
                break;
            }
        const value_id id = add_layer(n, dense_spec{.out_features = out, .bias = bias != nullptr}, {a.id},
                                      dense_params(w, false, bias, out, k, n));
        define_layer(n, id, 2);
        if (bias_node >= 0) {
            fused_.insert(bias_node);
            value v;
            v.id = id;
            v.rank = 2;
            values_[nodes[bias_node].output(0)] = v;
        }
    }

    void flatten(const node_ctx& n) {
        const value& x = layer_input(n, 0);
        auto axis = attr_int(n.proto, "axis", 1);
        if (axis < 0) axis += static_cast<std::int64_t>(x.rank);
        if (axis != 1)
            throw error(n.where, "Flatten with axis " + std::to_string(axis) +
                                     " is not supported; only axis 1 (keep the batch) is");
        if (x.rank == 2) return define(n, 0, x);
        define_layer(n, add_layer(n, flatten_spec{}, {x.id}, {}), 2);
    }

    void reshape(const node_ctx& n) {
        const value& x = layer_input(n, 0);
        const value& target_value = input(n, 1);
        if (target_value.what != value::kind::constant)
            throw error(n.where,
                        "the target shape '" + n.proto.input(1) +
                            "' is not a constant; stemshare supports Reshape only to a constant shape");
        const constant& target = target_value.data;
        const auto in = onnx_shape(x);
        const bool allow_zero = attr_int(n.proto, "allowzero", 0) != 0;
        std::vector<std::int64_t> t;
        for (std::size_t i = 0; i < target.values.size(); ++i) {
            std::int64_t d = target.as_int(i);
            if (target.values[i] == static_cast<double>(batch_extent)) d = batch_extent;
            if (d == 0 && !allow_zero && i < in.size()) d = in[i];
            t.push_back(d);
        }
        const std::int64_t per_image = graph_->shape_of(x.id).numel();
        const bool batch_first =
            !t.empty() && (t[0] == batch_extent || (input_batch_ > 0 && t[0] == input_batch_));
        const bool is_flatten = t.size() == 2 && batch_first && (t[1] == -1 || t[1] == per_image);
        const bool is_unflatten =
            t.size() == 4 && batch_first && (t[1] == per_image || t[1] == -1) && t[2] == 1 && t[3] == 1;
        if (!is_flatten && !(is_unflatten && graph_->shape_of(x.id).is_flat()))
            throw error(n.where,
                        "Reshape of " + shape_text(in) + " to " + shape_text(t) +
                            " is not a flatten; stemshare supports Reshape only to [N, -1] (or [N, C*H*W])");
        if (is_unflatten || x.rank == 2) {
            value v = x;
            v.rank = t.size();
            return define(n, 0, v);
        }
        define_layer(n, add_layer(n, flatten_spec{}, {x.id}, {}), 2);
    }

    void softmax(const node_ctx& n) {
        const value& x = layer_input(n, 0);
        auto axis = attr_int(n.proto, "axis", opset_ >= 13 ? -1 : 1);
        if (axis < 0) axis += static_cast<std::int64_t>(x.rank);
        const bool flat = graph_->shape_of(x.id).is_flat();
        const bool channels = axis == 1 && (x.rank == 2 || opset_ >= 13 || flat);
        if (!channels)
            throw error(n.where, "Softmax over axis " + std::to_string(axis) + " of a rank-" +
                                     std::to_string(x.rank) +
                                     " tensor is not supported; only the channel / class axis 1 is");
        define_layer(n, add_layer(n, softmax_spec{}, {x.id}, {}), x.rank);
    }

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

}  // namespace onnx_detail

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
