// Must not compile: channels [8, 16) of a 12-channel input do not exist.
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
using namespace stemshare::layers;
using stemshare::input;
constexpr auto net = input<12, 4, 4> | channel_slice<{8, 8}>;
