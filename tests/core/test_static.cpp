// Static tier: these checks run in the compiler. If this file compiles, they passed; the one
// TEST_CASE only makes the tier visible in ctest's list.
#include <doctest/doctest.h>

#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
#include <stemshare/chain/shuffle_unit.hpp>
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
static_assert(channel_shuffle_spec{3}.check({12, 5, 5}).ok());
static_assert(!channel_shuffle_spec{5}.check({12, 5, 5}).ok() &&
              !channel_shuffle_spec{0}.check({12, 5, 5}).ok());
static_assert(channel_shuffle_spec{2}.source_channel(1, 8) == 4 &&
              channel_shuffle_spec{2}.source_channel(6, 8) == 3);
static_assert(channel_slice_spec{4, 8}.check({12, 5, 5}).ok());
static_assert(channel_slice_spec{4, 8}.output_shape({12, 5, 5}) == shape{8, 5, 5});
static_assert(!channel_slice_spec{5, 8}.check({12, 5, 5}).ok() &&
              !channel_slice_spec{0, 0}.check({12, 5, 5}).ok());
static_assert(split_part(116, 2, 1) == channel_slice_spec{58, 58});
static_assert(split_part(7, 3, 2) == channel_slice_spec{6, 1});  // torch.chunk: 3, 3, 1
static_assert(split_part(std::array<std::int64_t, 3>{2, 5, 1}, 1) == channel_slice_spec{2, 5});

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
// A ShuffleNetV2 stride-1 unit is one element: split halves, one through a branch, concat, shuffle.
constexpr auto shuffle_net =
    input<16, 8, 8> | conv2d<{.out_channels = 16}>  //
    | shuffle_unit<2>(channel_slice<{0, 8}>, channel_slice<{8, 8}> | conv2d<{.out_channels = 8}> | relu) |
    global_avg_pool;
static_assert(shuffle_net.output_shape() == shape{16, 1, 1});
static_assert(shuffle_net.layer_count() == 1 + 6 + 1);
static_assert(shuffle_net.branch_points() == std::array<std::size_t, 4>{0, 1, 7, 8});
// A sequence is shape-agnostic until attached: the same stem fits other inputs.
static_assert((input<1, 7, 7> | stem).output_shape() == shape{8, 7, 7});

// Dilation: a 3x3 kernel at dilation d spans 2d+1 pixels; the output shrinks, weights and MACs do not
// change, and the check refuses a dilated kernel that no longer fits the padded input.
constexpr conv2d_spec dilated{.out_channels = 8, .kernel = 3, .dilation = 2};
static_assert(dilated.effective_kernel() == extent2{5});
static_assert(dilated.output_shape({4, 9, 9}) == shape{8, 5, 5});
static_assert(dilated.flops({4, 9, 9}) == 2 * 8 * 5 * 5 * 4 * 9);
static_assert(dilated.params({4, 9, 9}).numel() == 8 * 4 * 9 + 8);
static_assert(!dilated.check({4, 4, 9}).ok());  // 5 rows needed, 4 there
static_assert(conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 2, .dilation = 2}.output_shape({4, 9,
                                                                                                     9}) ==
              shape{8, 9, 9});
static_assert(conv2d_spec{.out_channels = 8, .kernel = 3, .stride = 2, .padding = 3, .dilation = 3}
                  .output_shape({4, 9, 9}) == shape{8, 5, 5});
static_assert(!conv2d_spec{.out_channels = 8, .kernel = 3, .dilation = 0}.check({4, 9, 9}).ok());
static_assert(conv2d_spec{.out_channels = 8, .kernel = 3, .dilation = {1, 4}}.output_shape({4, 9, 9}) ==
              shape{8, 7, 1});
static_assert(
    depthwise_conv2d_spec{.kernel = 3, .padding = 2, .dilation = 2}.to_conv2d({16, 8, 8}).dilation ==
    extent2{2});
// A chain with dilated convs (DeepLab-style atrous block): shapes, MACs and branch points at compile time.
constexpr auto atrous =
    input<3, 17, 17> | block(conv2d<{.out_channels = 8, .kernel = 3, .stride = 2, .padding = 1}> | relu) |
    block(depthwise_conv2d<{.kernel = 3, .padding = 2, .dilation = 2}> | relu) |
    block(conv2d<{.out_channels = 4, .kernel = 3, .dilation = 3}> | relu) | global_avg_pool;
static_assert(atrous.output_shape() == shape{4, 1, 1});
static_assert(atrous.flops() == 2 * (9 * 9 * 8 * 3 * 9)          // stride-2 conv to 9x9
                                    + 2 * (9 * 9 * 8 * 9)        // depthwise, dilation 2, same size
                                    + 2 * (3 * 3 * 4 * 8 * 9));  // dilation 3: 9 - 7 + 1 = 3
static_assert(atrous.branch_points()[1] == 2 && atrous.branch_points()[2] == 4);

}  // namespace

TEST_CASE("static tier: constexpr shape, layer and chain checks compiled") {
    CHECK(net.size() == 8);
}
