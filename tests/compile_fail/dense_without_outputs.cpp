// Must not compile: a dense layer with zero outputs.
#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
using namespace stemshare::layers;
using stemshare::input;
constexpr auto net = input<4, 2, 2> | flatten | dense<{.out_features = 0}>;
