// Must not compile: one branch halves the resolution, so channels cannot be concatenated.
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
using namespace stemshare::layers;
using stemshare::input;
constexpr auto net =
    input<8, 6, 6> | inception(conv2d<{.out_channels = 4}>,
                               conv2d<{.out_channels = 4, .kernel = 3, .stride = 2, .padding = 1}>);
