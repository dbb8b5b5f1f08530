// Must not compile: 12 channels cannot be shuffled over 5 groups.
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
using namespace stemshare::layers;
using stemshare::input;
constexpr auto net = input<12, 4, 4> | channel_shuffle<5>;
