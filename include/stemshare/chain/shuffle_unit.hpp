#pragma once
/// \file
/// `shuffle_unit<groups>(branches...)`: ShuffleNetV2's unit as one chain element. The branches
/// run on the unit's input (each begins with its `channel_slice` in a stride-1 unit, where one
/// half of the channels passes through; both read the whole input in a stride-2 unit), their
/// outputs are concatenated along channels and then shuffled over `groups` groups. Being one
/// element, the unit has no branch point inside it: a stem never ends between the split and
/// the shuffle.
///
///     input<16, 8, 8> | shuffle_unit<2>(channel_slice<{0, 8}>,
///                                       channel_slice<{8, 8}> | conv2d<{.out_channels = 8}> | relu)

#include <cstdint>

#include <stemshare/chain/blocks.hpp>
#include <stemshare/chain/layers.hpp>

namespace stemshare {

template <std::int64_t Groups, ChainElement... Branches>
constexpr auto shuffle_unit(Branches... branches) {
    return block(inception(branches...) | layers::channel_shuffle<Groups>);
}

}  // namespace stemshare
