#pragma once
/// \file
/// `io::bind_weights`: binds the parameters of a graph (typically a compile-time chain's
/// `to_graph()`) to tensors of a weight file, by name or by order, checking every shape.
///
/// By name, layer L's parameter P ("weight", "bias", "running_mean", "running_var") is looked
/// up as "<module>.<P>", where <module> is `options.modules[L]` when given and L itself
/// otherwise; `options.rename` replaces the whole rule. So a PyTorch state_dict binds with a
/// table from chain layer names ("0.0.conv2d") to module names ("features.0").
/// By order, the graph's parameters in node order take the file's floating-point tensors in file
/// order, skipping names that end with one of `options.skip_suffixes` (PyTorch's
/// "num_batches_tracked" counters).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::io {

/// Something that holds named f32-loadable tensors: `safetensors_file`, `onnx_weights`.
template <class S>
concept weight_source = requires(const S& s, std::string_view name) {
    { s.contains(name) } -> std::convertible_to<bool>;
    { s.extents(name) } -> std::same_as<dims>;
    { s.load(name) } -> std::same_as<tensor<float>>;
    { s.names() } -> std::convertible_to<std::vector<std::string>>;
    { s.source() } -> std::convertible_to<std::string>;
};

enum class bind_mode : std::uint8_t { by_name, by_order };

struct bind_options {
    bind_mode mode = bind_mode::by_name;
    /// By name: graph layer name -> module name in the file.
    std::map<std::string, std::string> modules{};
    /// By name: full rule (layer name, parameter name) -> tensor name; overrides `modules`.
    std::function<std::string(std::string_view layer, std::string_view param)> rename{};
    /// By order: file tensors whose names end with one of these are not parameters.
    std::vector<std::string> skip_suffixes = {"num_batches_tracked"};
    /// Bind only layers [first_layer, last_layer) (e.g. the suffix of a candidate).
    std::size_t first_layer = 0;
    std::size_t last_layer = std::numeric_limits<std::size_t>::max();
    /// Throw when the file has tensors (other than skipped ones) that no parameter took.
    bool require_all_used = false;
};

struct bind_result {
    std::size_t tensors_bound = 0;
    /// File tensors no parameter took, in file order (skipped suffixes excluded).
    std::vector<std::string> unused;
};

template <weight_source S>
bind_result bind_weights(graph& g, const S& source, const bind_options& options = {}) {
    const std::size_t last = std::min(options.last_layer, g.size());
    const std::string where = "bind_weights from " + std::string(source.source());
    auto skipped = [&](const std::string& name) {
        for (const auto& s : options.skip_suffixes)
            if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
                return true;
        return false;
    };
    std::vector<std::string> order;
    for (const auto& name : source.names())
        if (!skipped(name)) order.push_back(name);

    std::set<std::string> used;
    std::size_t next = 0;
    bind_result result;
    for (std::size_t i = options.first_layer; i < last; ++i) {
        const node& n = g.at(i);
        std::vector<tensor<float>> params;
        for (const auto& desc : n.param_descs()) {
            const std::string param(desc.name);
            std::string name;
            if (options.mode == bind_mode::by_order) {
                if (next >= order.size())
                    throw error(where, "ran out of tensors at layer '" + n.name + "' parameter '" + param +
                                           "': the file has " + std::to_string(order.size()) +
                                           " parameter tensors, fewer than the graph needs");
                name = order[next++];
            } else if (options.rename) {
                name = options.rename(n.name, param);
            } else {
                const auto it = options.modules.find(n.name);
                name = (it == options.modules.end() ? n.name : it->second) + "." + param;
            }
            if (!source.contains(name))
                throw error(where, "layer '" + n.name + "' parameter '" + param + "' maps to tensor '" +
                                       name + "', which the file does not have");
            const dims have = source.extents(name);
            if (!(have == desc.extents))
                throw error(where, "layer '" + n.name + "' " + describe(n.spec) + " parameter '" + param +
                                       "' needs dims " + to_string(desc.extents) + ", but tensor '" + name +
                                       "' has " + to_string(have));
            params.push_back(source.load(name));
            used.insert(name);
        }
        if (!params.empty() || n.param_descs().size() == 0) {
            try {
                g.bind(i, std::move(params));
            } catch (const error& e) {
                throw error(where, e.what());
            }
            result.tensors_bound += n.param_descs().size();
        }
    }
    for (const auto& name : order)
        if (!used.contains(name)) result.unused.push_back(name);
    if (options.require_all_used && !result.unused.empty())
        throw error(where, std::to_string(result.unused.size()) + " tensors were not used, the first is '" +
                               result.unused.front() + "'");
    return result;
}

}  // namespace stemshare::io
