// Must not compile: a 5x5 kernel does not fit a 4x4 input without padding.
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
using namespace stemshare::layers;
using stemshare::input;
constexpr auto net =
    input<1, 4, 4> | conv2d<{.out_channels = 4, .kernel = 3}> | conv2d<{.out_channels = 4, .kernel = 5}>;
