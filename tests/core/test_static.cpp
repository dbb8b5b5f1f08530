// Static tier: these checks run in the compiler. If this file compiles, they passed; the one
// TEST_CASE only makes the tier visible in ctest's list.
#include <doctest/doctest.h>

#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
#include <stemshare/core/dims.hpp>
#include <stemshare/core/dtype.hpp>
#include <stemshare/layers/layer_spec.hpp>

namespace {
using namespace stemshare;
using namespace stemshare::layers;

// shape, dims
static_assert(shape{3, 4, 5}.numel() == 60);
static_assert(shape{0, 4, 5}.empty() && !shape{1, 1, 1}.empty());
static_assert(dims{2, 3, 4}.numel() == 24 && dims{2, 3, 4}.rank() == 3);
static_assert(dims{}.numel() == 1);
static_assert(dims{2, 0}.has_zero_or_negative());

// bf16 rounds to nearest even and keeps NaN a NaN
static_assert(static_cast<float>(bf16(1.0F)) == 1.0F);
static_assert(static_cast<float>(bf16(1.00390625F)) == 1.0F);       // halfway, rounds to even (down)
static_assert(static_cast<float>(bf16(1.01171875F)) == 1.015625F);  // halfway, rounds to even (up)
static_assert(bf16(__builtin_nanf("")).bits != bf16(__builtin_inff()).bits);

// Layer rules, shared by compile-time and run-time checks
constexpr conv2d_spec conv3x3{.out_channels = 8, .kernel = 3, .stride = 2, .padding = 1};
static_assert(conv3x3.check({4, 9, 9}).ok());
static_assert(conv3x3.output_shape({4, 9, 9}) == shape{8, 5, 5});
static_assert(conv3x3.flops({4, 9, 9}) == 2 * 8 * 5 * 5 * 4 * 9);
static_assert(conv3x3.params({4, 9, 9}).numel() == 8 * 4 * 9 + 8);
static_assert(!conv2d_spec{.out_channels = 8, .kernel = 3, .groups = 3}.check({4, 9, 9}).ok());
static_assert(!conv2d_spec{.out_channels = 8, .kernel = 11}.check({4, 9, 9}).ok());
static_assert(conv2d_spec{.out_channels = 8, .kernel = {1, 7}, .padding = {0, 3}}.output_shape({4, 9, 9}) ==
              shape{8, 9, 9});
static_assert(depthwise_conv2d_spec{.kernel = 3, .padding = 1}.to_conv2d({16, 8, 8}).groups == 16);
static_assert(pool2d_spec{.kind = pool_kind::max, .kernel = 3, .stride = 2}.output_shape({4, 9, 9}) ==
              shape{4, 4, 4});
static_assert(!pool2d_spec{.kernel = 2, .padding = 2}.check({4, 9, 9}).ok());
static_assert(dense_spec{.out_features = 10}.params({4, 3, 3}).numel() == 10 * 36 + 10);
static_assert(concat_spec{}.check(std::array{shape{2, 5, 5}, shape{3, 5, 5}}).ok());
static_assert(concat_spec{}.output_shape(std::array{shape{2, 5, 5}, shape{3, 5, 5}}) == shape{5, 5, 5});
static_assert(!add_spec{}.check(std::array{shape{2, 5, 5}, shape{3, 5, 5}}).ok());
static_assert(!check(layer_spec{add_spec{}}, std::array{shape{2, 5, 5}}).ok());

// Compile-time chains: shapes, counts and branch points are constants.
constexpr auto stem =
    conv2d<{.out_channels = 8, .kernel = 3, .padding = 1, .bias = false}> | batch_norm | relu;
constexpr auto net =
    input<3, 16, 16> | block(stem)  //
    | residual(conv2d<{.out_channels = 8, .kernel = 3, .padding = 1}> | relu |
               conv2d<{.out_channels = 8, .kernel = 3, .padding = 1}>)  //
    | relu                                                              //
    | inception(conv2d<{.out_channels = 4, .kernel = 1}>,
                max_pool2d<{.kernel = 3, .stride = 1, .padding = 1}> | conv2d<{.out_channels = 6}>)  //
    | max_pool2d<> | flatten | dense<{.out_features = 5}> | softmax;
static_assert(net.input_shape() == shape{3, 16, 16});
static_assert(net.output_shape() == shape{5, 1, 1});
static_assert(net.size() == 8);
static_assert(net.layer_count() == 3 + 4 + 1 + 4 + 4);
static_assert(net.branch_points() == std::array<std::size_t, 9>{0, 3, 7, 8, 12, 13, 14, 15, 16});
static_assert(net.flops() == 2 * (16 * 16 * 8 * 3 * 9)            // stem conv
                                 + 2 * 2 * (16 * 16 * 8 * 8 * 9)  // residual convs
                                 + 2 * (16 * 16 * 4 * 8)          // inception 1x1
                                 + 2 * (16 * 16 * 6 * 8)          // inception pool -> 1x1
                                 + 2 * (5 * 10 * 8 * 8));         // dense on 10x8x8
static_assert(net.param_count() ==
              (8 * 27 + 4 * 8) + 2 * (8 * 72 + 8) + (4 * 8 + 4) + (6 * 8 + 6) + (5 * 640 + 5));
// A sequence is shape-agnostic until attached: the same stem fits other inputs.
static_assert((input<1, 7, 7> | stem).output_shape() == shape{8, 7, 7});

}  // namespace

TEST_CASE("static tier: constexpr shape, layer and chain checks compiled") {
    CHECK(net.size() == 8);
}
