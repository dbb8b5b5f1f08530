// Must not compile: padding as large as the kernel would pool over nothing but padding.
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
using namespace stemshare::layers;
using stemshare::input;
constexpr auto net = input<4, 8, 8> | max_pool2d<{.kernel = 2, .stride = 2, .padding = 2}>;
