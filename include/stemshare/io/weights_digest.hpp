#pragma once
/// \file
/// `io::weights_digest`: one SHA-256 (stemshare::digest) over a set of named f32 tensors, the
/// same whether they come from a bound graph or from a safetensors file, so an M-Package can
/// record its base model's digest and a reader can check the file against it.
///
/// Definition: tensors sorted by name; for each, the UTF-8 name, one 0 byte, the rank as a
/// little-endian u64, each extent as a little-endian i64, then the values as little-endian f32.
/// The result is spelled "sha256:<64 hex digits>". Tensor names of a graph are
/// "<layer name>.<parameter name>".

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <stemshare/core/digest.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/io/safetensors.hpp>

namespace stemshare::io {

namespace detail {
inline void digest_tensor(digest& d, const std::string& name, tensor_view<const float> t) {
    d.update(name);
    const std::byte zero{0};
    d.update(&zero, 1);
    const auto rank = static_cast<std::uint64_t>(t.extents().rank());
    d.update(&rank, sizeof rank);
    d.update(t.extents().extents());
    d.update(std::span<const float>(t.values()));
}
}  // namespace detail

/// Digest of the parameters of layers [first, last) of a bound graph.
[[nodiscard]] inline std::string weights_digest(const graph& g, std::size_t first = 0,
                                                std::size_t last = static_cast<std::size_t>(-1)) {
    last = std::min(last, g.size());
    std::map<std::string, tensor_view<const float>> named;
    for (std::size_t i = first; i < last; ++i) {
        const node& n = g.at(i);
        if (!n.is_bound()) throw error("weights_digest: layer '" + n.name + "'", "has no weights bound");
        const param_list descs = n.param_descs();
        for (std::size_t p = 0; p < descs.size(); ++p)
            named.emplace(n.name + "." + std::string(descs[p].name), n.params[p].view());
    }
    digest d;
    for (const auto& [name, t] : named) detail::digest_tensor(d, name, t);
    return "sha256:" + d.hex();
}

/// Digest of every floating-point tensor of a safetensors file (converted to f32).
[[nodiscard]] inline std::string weights_digest(const safetensors_file& file) {
    std::vector<std::string> names = file.names();
    std::sort(names.begin(), names.end());
    digest d;
    for (const auto& name : names) {
        const tensor<float> t = file.load(name);
        detail::digest_tensor(d, name, t.view());
    }
    return "sha256:" + d.hex();
}

}  // namespace stemshare::io
