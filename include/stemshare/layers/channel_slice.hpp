#pragma once
/// \file
/// `channel_slice_spec`: `count` consecutive channels of the input from channel `begin` on. A
/// channel split (ShuffleNetV2's `x.chunk(2, dim=1)`, ONNX Split or Slice on axis 1) is one slice
/// per part, each reading the same input: the graph keeps one output per layer, and the oneDNN
/// backend makes a slice a view of its input's bytes where the layout allows (no copy).
/// `split_part` gives the parts of an equal split or of a split into given sizes.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/param.hpp>

namespace stemshare {

struct channel_slice_spec {
    static constexpr std::string_view kind_name = "channel_slice";

    std::int64_t begin = 0;
    std::int64_t count = 1;

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (in.empty()) return "channel_slice: input has a zero extent";
        if (begin < 0) return "channel_slice: begin must not be negative";
        if (count < 1) return "channel_slice: count must be positive";
        if (begin + count > in.c) return "channel_slice: begin + count exceeds the input channels";
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept { return {count, in.h, in.w}; }
    [[nodiscard]] constexpr param_list params(shape) const { return {}; }
    [[nodiscard]] constexpr std::int64_t flops(shape) const noexcept { return 0; }
    friend constexpr bool operator==(const channel_slice_spec&, const channel_slice_spec&) = default;
};

/// Part `k` of `channels` channels split into `parts` parts as `torch.chunk` and ONNX Split
/// without sizes (opset 18's `num_outputs`) do: ceil(channels / parts) each, the last one what
/// is left. A part that would be empty has count 0, which `check` refuses.
[[nodiscard]] constexpr channel_slice_spec split_part(std::int64_t channels, std::int64_t parts,
                                                      std::int64_t k) noexcept {
    if (parts < 1) return {0, 0};
    const std::int64_t size = (channels + parts - 1) / parts;
    const std::int64_t begin = k * size;
    const std::int64_t end = begin + size < channels ? begin + size : channels;
    return {begin, end > begin ? end - begin : 0};
}

/// Part `k` of a split into the given `sizes` (their sum should be the input's channels, which
/// the caller checks; a part past the end is refused by `check`).
[[nodiscard]] constexpr channel_slice_spec split_part(std::span<const std::int64_t> sizes,
                                                      std::size_t k) noexcept {
    std::int64_t begin = 0;
    for (std::size_t i = 0; i < k && i < sizes.size(); ++i) begin += sizes[i];
    return {begin, k < sizes.size() ? sizes[k] : 0};
}

}  // namespace stemshare
