// Must not compile: a 3x3 kernel at dilation 3 spans 7 pixels, more than the 6x6 input it gets.
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
using namespace stemshare::layers;
using stemshare::input;
constexpr auto net = input<1, 6, 6> | conv2d<{.out_channels = 4, .kernel = 3, .padding = 0, .dilation = 3}>;
