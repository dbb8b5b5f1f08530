#pragma once
/// \file
/// `io::save_weights`: writes a graph's parameters as safetensors, each tensor named
/// "<layer>.<param>", which is what `io::bind_weights` reads back by name.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <stemshare/graph/graph.hpp>
#include <stemshare/io/safetensors.hpp>

namespace stemshare::io {

/// Writes every parameter of `g` to `path` (atomically, creating the folder) with `metadata` in the
/// header; `storage` picks the element type on disk.
inline void save_weights(const graph& g, const std::filesystem::path& path,
                         const std::map<std::string, std::string>& metadata = {},
                         storage_dtype storage = storage_dtype::f32) {
    std::vector<named_view> tensors;
    for (const node& n : g.nodes()) {
        const param_list descs = n.param_descs();
        for (std::size_t p = 0; p < descs.size(); ++p)
            tensors.push_back({n.name + "." + std::string(descs[p].name), n.params[p].view()});
    }
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    write_safetensors(path, tensors, {.storage = storage, .metadata = metadata});
}

}  // namespace stemshare::io
