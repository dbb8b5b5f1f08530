// Must not compile: an input with zero channels.
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
using namespace stemshare::layers;
using stemshare::input;
constexpr auto net = input<0, 8, 8> | relu;
