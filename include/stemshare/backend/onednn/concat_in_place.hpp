#pragma once
/// \file
/// `concat_in_place`: concats without copies (batch 1). When a concat's result, in the layout
/// convolutions use, keeps every input's channels as one contiguous range (plain nchw, or channels
/// blocked outermost: nChw8c / nChw16c with every input a whole number of blocks), the result is
/// placed in the arena first and each input's producer writes straight into its range (an inner
/// concat's result too: later concats are planned first, so an inner one finds its range in the
/// outer one). An input whose producer picks another layout, the graph input, or a value already
/// placed in another concat is copied into its range instead (lower_concat.hpp).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/activation_arena.hpp>
#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/graph/graph.hpp>

namespace stemshare::onednn::detail {

class concat_in_place {
public:
    /// For a batch-1 layout in which any run of whole channel blocks is one contiguous range of
    /// bytes (plain nchw: block 1; channels blocked outermost, aBcd8b / aBcd16b: block 8 / 16), the
    /// block; nothing for any other layout.
    [[nodiscard]] static std::optional<std::int64_t> channel_block(const dnnl::memory::desc& md) {
        using tag = dnnl::memory::format_tag;
        const auto dims = md.dims();
        if (dims.size() != 4 || dims[0] != 1) return std::nullopt;
        if (md == plain_desc(dims, md.data_type())) return 1;
        for (const auto& [block, t] :
             {std::pair{std::int64_t{8}, tag::aBcd8b}, std::pair{std::int64_t{16}, tag::aBcd16b}})
            if (dims[1] % block == 0 && md == dnnl::memory::desc(dims, md.data_type(), t)) return block;
        return std::nullopt;
    }

    /// The layout of `channel_block` for block `block` (1: plain nchw) and dims `dims`.
    [[nodiscard]] static dnnl::memory::desc channel_blocked(std::int64_t block,
                                                            const dnnl::memory::dims& dims,
                                                            dnnl::memory::data_type type) {
        using tag = dnnl::memory::format_tag;
        return block == 1 ? plain_desc(dims, type)
                          : dnnl::memory::desc(dims, type, block == 8 ? tag::aBcd8b : tag::aBcd16b);
    }

    /// A concat whose result is allocated before its inputs are computed: `parts[k]` is input k's
    /// channels of `result`, in the input's own layout.
    struct planned {
        dnnl::memory result;
        std::vector<dnnl::memory> parts;
    };

    /// Plans every concat of `g` whose inputs can be written in place, with values of `arena`.
    void plan(const graph& g, std::int64_t batch, dnnl::memory::data_type type, activation_arena& arena) {
        if (batch != 1) return;
        const auto& nodes = g.nodes();
        for (std::size_t c = nodes.size(); c-- > 0;) {
            const node& n = nodes[c];
            if (!std::holds_alternative<concat_spec>(n.spec)) continue;
            const auto self = slot_of_.find(static_cast<value_id>(c));
            const std::optional<dnnl::memory::desc> layout =
                self != slot_of_.end() ? part(self->second).get_desc()
                                       : convolution_layout(dims_of(n.output), type);
            const auto block = layout ? channel_block(*layout) : std::nullopt;
            if (!block || std::any_of(n.input_shapes.begin(), n.input_shapes.end(),
                                      [&](const shape& s) { return s.c % *block != 0; }))
                continue;
            planned p;
            p.result = self != slot_of_.end() ? part(self->second) : arena.add(*layout);
            std::size_t offset = 0;
            for (std::size_t k = 0; k < n.inputs.size(); ++k) {
                const dnnl::memory::desc md = channel_blocked(*block, dims_of(n.input_shapes[k]), type);
                p.parts.push_back(arena.alias(p.result, md, offset));
                offset += md.get_size();
                const value_id v = n.inputs[k];
                if (v != graph_input) slot_of_.try_emplace(v, c, k);
            }
            plans_.emplace(c, std::move(p));
        }
    }

    /// Node j's range of a concat result, when it has one in layout `md`: j's producer then writes
    /// its result there.
    std::optional<dnnl::memory> claim(std::size_t j, const dnnl::memory::desc& md) {
        if (const auto it = slot_of_.find(static_cast<value_id>(j)); it != slot_of_.end()) {
            const dnnl::memory& p = part(it->second);
            if (p.get_desc() == md) {
                written_.insert(static_cast<value_id>(j));
                return p;
            }
        }
        return std::nullopt;
    }

    /// The plan of concat node `c`, if it has one.
    [[nodiscard]] const planned* find(std::size_t c) const {
        const auto it = plans_.find(c);
        return it == plans_.end() ? nullptr : &it->second;
    }

    /// Records that planned concat `c` is complete, which puts it in its outer concat's range
    /// when it has one there.
    void complete(std::size_t c) {
        if (slot_of_.contains(static_cast<value_id>(c))) written_.insert(static_cast<value_id>(c));
    }

    /// True when value `v`, input `k` of concat `c`, was written straight into its range.
    [[nodiscard]] bool written_in_place(value_id v, std::size_t c, std::size_t k) const {
        const auto it = slot_of_.find(v);
        return it != slot_of_.end() && it->second == slot{c, k} && written_.contains(v);
    }

private:
    /// Concat node and input index of a value's range.
    using slot = std::pair<std::size_t, std::size_t>;

    [[nodiscard]] const dnnl::memory& part(slot s) const { return plans_.at(s.first).parts[s.second]; }

    static dnnl::memory::dims dims_of(shape s) { return {1, s.c, s.h, s.w}; }

    std::map<std::size_t, planned> plans_;
    std::unordered_map<value_id, slot> slot_of_;
    std::unordered_set<value_id> written_;
};

}  // namespace stemshare::onednn::detail

namespace stemshare::onednn {

/// The channel block in which a batch-1 concat result of layout `md` can be written in place (1
/// for plain nchw, 8 / 16 for channels blocked outermost), or nothing where one input's channels
/// are not one contiguous range (e.g. nhwc, which oneDNN picks on AVX-512): concats are then
/// copied. Inputs must also be a whole number of blocks each.
[[nodiscard]] inline std::optional<std::int64_t> in_place_concat_block(const dnnl::memory::desc& md) {
    return detail::concat_in_place::channel_block(md);
}

}  // namespace stemshare::onednn
