// Must not compile: 3 input channels cannot be split into 2 groups.
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
using namespace stemshare::layers;
using stemshare::input;
constexpr auto net = input<3, 8, 8> | conv2d<{.out_channels = 4, .kernel = 3, .groups = 2}>;
