// Must not compile: the body changes 8 channels into 16, so the identity shortcut cannot be added.
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
using namespace stemshare::layers;
using stemshare::input;
constexpr auto net = input<8, 6, 6> | residual(conv2d<{.out_channels = 16, .kernel = 3, .padding = 1}>);
