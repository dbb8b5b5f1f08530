// xtensor interop: contiguous row-major float containers reach the model without a copy (same data
// pointer), views and lazy expressions give the same model output as an explicit copy, bit for
// bit; xt::xarray works under C++20 (the xtensor 0.24 repair); results read back as xtensor; the
// executor and the training data path take xtensor; bad ranks and shapes are errors naming both.
#include <stemshare/interop/xtensor.hpp>  // first: it repairs xt::xarray before anything uses it

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xview.hpp>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/tensor/fill.hpp>

#include "interop_models.hpp"
#include "support/error_of.hpp"

using namespace stemshare;
using stemshare::test::error_of;
using stemshare::test::same_bits;

namespace {

/// {n, c, h, w} of seeded uniform values in [0, 1).
xt::xtensor<float, 4> random_images(std::size_t n, std::size_t c, std::size_t h, std::size_t w,
                                    std::uint64_t seed) {
    xt::xtensor<float, 4> out(std::array<std::size_t, 4>{n, c, h, w});
    fill_uniform(std::span<float>(out.data(), out.size()), seed, 0.0F, 1.0F);
    return out;
}

/// The expression copied element by element into a stemshare tensor: the explicit copy the
/// interop path must match.
template <class E>
tensor<float> explicit_copy(const E& e) {
    const auto& s = e.shape();
    tensor<float> out(dims{static_cast<std::int64_t>(s[0]), static_cast<std::int64_t>(s[1]),
                           static_cast<std::int64_t>(s[2]), static_cast<std::int64_t>(s[3])});
    std::int64_t i = 0;
    for (std::size_t n = 0; n < s[0]; ++n)
        for (std::size_t c = 0; c < s[1]; ++c)
            for (std::size_t h = 0; h < s[2]; ++h)
                for (std::size_t w = 0; w < s[3]; ++w) out[i++] = static_cast<float>(e(n, c, h, w));
    return out;
}

std::span<const float> values_of(const xt::xtensor<float, 4>& t) {
    return {t.data(), t.size()};
}

}  // namespace

TEST_CASE("xtensor: contiguous row-major float containers are borrowed, not copied") {
    xt::xtensor<float, 4> fixed = random_images(2, 1, 28, 28, 1);
    const auto from_fixed = from_xtensor(fixed);
    CHECK_FALSE(from_fixed.is_copy());
    CHECK(from_fixed.view().data() == fixed.data());
    CHECK(from_fixed.extents() == dims{2, 1, 28, 28});

    xt::xarray<float> dynamic = fixed;
    CHECK(from_xtensor(dynamic).view().data() == dynamic.data());

    std::vector<float> buffer(2 * 28 * 28, 0.5F);
    auto adapted = xt::adapt(buffer, std::vector<std::size_t>{2, 1, 28, 28});
    CHECK(from_xtensor(adapted).view().data() == buffer.data());

    // Whole images of a batch are contiguous: the view's first element is image 1's.
    auto second = xt::view(fixed, xt::range(1, 2), xt::all(), xt::all(), xt::all());
    const auto from_view = from_xtensor(second);
    CHECK_FALSE(from_view.is_copy());
    CHECK(from_view.view().data() == fixed.data() + 28 * 28);

    test::recording_model model;
    const auto scores = xt_run(model, fixed);
    CHECK(model.last_src == fixed.data());
    CHECK(model.last_dst == scores.data());  // the model wrote into the returned xtensor
}

TEST_CASE("xtensor: an rvalue container is kept alive by the input, still without a copy") {
    xt::xtensor<float, 4> images = random_images(1, 1, 28, 28, 2);
    const xt::xtensor<float, 4> expected = images;
    const float* data = images.data();
    const interop::input_tensor in = from_xtensor(std::move(images));
    images = xt::zeros<float>({1, 1, 1, 1});  // the moved-from object is reused; the input is not
    CHECK_FALSE(in.is_copy());
    CHECK(in.view().data() == data);
    CHECK(same_bits(in.view().values(), values_of(expected)));
}

TEST_CASE("xtensor: views and lazy expressions give the model output of an explicit copy, bit for bit") {
    const graph g = test::image_graph();
    onednn::compiled_graph model(g, {.batch = 2, .threads = 1});
    const xt::xtensor<float, 4> images = random_images(2, 1, 28, 28, 3);
    const auto run_copy = [&](const auto& e) { return model.run(explicit_copy(e).view()); };
    // The checks below have teeth: the model's scores change when H and W are swapped.
    const xt::xtensor<float, 4> swapped = xt::transpose(images, {0, 1, 3, 2});
    REQUIRE_FALSE(same_bits(values_of(xt_run(model, images)), values_of(xt_run(model, swapped))));

    SUBCASE("a transposed view (H and W swapped back)") {
        auto view = xt::transpose(swapped, {0, 1, 3, 2});
        CHECK(from_xtensor(view).is_copy());
        CHECK(same_bits(values_of(xt_run(model, view)), run_copy(view).values()));
    }
    SUBCASE("a strided view (every other row and column of a 56x56 image)") {
        const xt::xtensor<float, 4> big = random_images(2, 1, 56, 56, 4);
        auto view = xt::view(big, xt::all(), xt::all(), xt::range(0, 56, 2), xt::range(0, 56, 2));
        CHECK(from_xtensor(view).is_copy());
        CHECK(same_bits(values_of(xt_run(model, view)), run_copy(view).values()));
    }
    SUBCASE("a lazy expression over 8-bit pixels") {
        xt::xtensor<std::uint8_t, 4> pixels(std::array<std::size_t, 4>{2, 1, 28, 28});
        for (std::size_t i = 0; i < pixels.size(); ++i)
            pixels.flat(i) = static_cast<std::uint8_t>(i * 37 % 256);
        auto normalised = (xt::cast<float>(pixels) / 255.0F - 0.286F) / 0.353F;
        CHECK(from_xtensor(normalised).is_copy());
        CHECK(same_bits(values_of(xt_run(model, normalised)), run_copy(normalised).values()));
    }
    SUBCASE("a double container (converted to float)") {
        const xt::xtensor<double, 4> doubles = xt::cast<double>(images) * 0.5;
        CHECK(from_xtensor(doubles).is_copy());
        CHECK(same_bits(values_of(xt_run(model, doubles)), run_copy(doubles).values()));
    }
    SUBCASE("a contiguous container (no copy) matches too") {
        CHECK(same_bits(values_of(xt_run(model, images)), run_copy(images).values()));
    }
}

TEST_CASE("xtensor: xt::xarray under C++20 (eval, sum, transpose) with stemshare's repair") {
#if defined(__GNUC__) && !defined(__clang__) && __cplusplus > 201703L
    CHECK(STEMSHARE_XTENSOR_XARRAY_SHIM == 1);
#endif
    xt::xarray<float> a = xt::arange<float>(24.0F);
    a.reshape({2, 3, 4});
    // The root cause: without the repair an xarray temporary is typed as a rank-4 xtensor.
    static_assert(std::is_same_v<xt::temporary_type_t<decltype(xt::sum(a, {1}))>, xt::xarray<float>>);
    // Without the repair these throw bad_alloc at -O0 and crash at -O2 (checked with g++ 12).
    const xt::xarray<float> sums = xt::eval(xt::sum(a, {1}));
    REQUIRE(sums.dimension() == 2);
    CHECK(sums(1, 2) == 14.0F + 18.0F + 22.0F);
    const xt::xarray<float> flipped = xt::eval(xt::transpose(a));
    REQUIRE(flipped.dimension() == 3);
    CHECK(flipped(3, 2, 1) == a(1, 2, 3));

    // An xarray goes to the model like any container, borrowed or, through a lazy transpose, copied.
    const graph g = test::image_graph();
    onednn::compiled_graph model(g, {.batch = 1, .threads = 1});
    xt::xarray<float> image = random_images(1, 1, 28, 28, 5);
    CHECK(from_xtensor(image).view().data() == image.data());
    const xt::xarray<float> stored = xt::transpose(image, {0, 1, 3, 2});
    auto lazy = xt::transpose(stored, {0, 1, 3, 2});
    CHECK(same_bits(values_of(xt_run(model, lazy)), values_of(xt_run(model, image))));
}

TEST_CASE("xtensor: results read back as xtensor without a copy, or as an owning copy") {
    tensor<float> t(dims{2, 10, 1, 1});
    fill_uniform(t.values(), 6);
    auto adapted = as_xtensor(t);
    CHECK(adapted.data() == t.data());
    adapted(1, 3, 0, 0) = 42.0F;  // writes through
    CHECK(t[13] == 42.0F);
    CHECK(as_xtensor(std::as_const(t)).data() == t.data());
    // Image 1's scores and its top class, through a view's iterators (xtensor 0.24 cannot index
    // a view with trailing integer slices by operator(), and xt::argmax trips -Warray-bounds at -O3).
    auto scores = xt::view(adapted, 1, xt::all(), 0, 0);
    CHECK(std::max_element(scores.begin(), scores.end()) - scores.begin() == 3);

    const xt::xtensor<float, 4> owned = to_xtensor(t);
    CHECK(owned.data() != t.data());
    CHECK(same_bits(values_of(owned), t.values()));
    CHECK(as_xtensor<2>(t.reshaped(dims{2, 10}).view()).shape()[1] == 10);
}

TEST_CASE("xtensor: the executor takes an xtensor frame and gives the scores of a plain tensor") {
    runtime::executor executor({.input = {1, 28, 28}, .stream_fps = 30, .threads = 1});
    executor.add_app("images", test::image_graph(), {.num_frozen = 2});
    const xt::xtensor<float, 4> big = random_images(1, 1, 56, 56, 7);
    auto frame = xt::view(big, xt::all(), xt::all(), xt::range(0, 56, 2), xt::range(0, 56, 2));

    const std::vector<float> from_xt = [&] {
        const auto& result = xt_process(executor, frame);
        const auto* app = result.find("images");
        REQUIRE(app != nullptr);
        return std::vector<float>(app->scores.begin(), app->scores.end());
    }();
    const tensor<float> copy = explicit_copy(frame);
    const auto* plain = executor.process(copy.view()).find("images");
    REQUIRE(plain != nullptr);
    CHECK(from_xt.size() == 10);
    CHECK(same_bits(from_xt, plain->scores));
    CHECK(executor.frames() == 2);

    const xt::xtensor<float, 4> wrong = random_images(1, 1, 28, 27, 8);
    CHECK(error_of([&] { (void)xt_process(executor, wrong); }) ==
          "stemshare::xt_process: expected input {1, 1, 28, 28}, got {1, 1, 28, 27}");
    CHECK(executor.frames() == 2);  // refused before it reached the stream
}

TEST_CASE("xtensor: a training set from 8-bit xtensor images and labels") {
    xt::xtensor<std::uint8_t, 4> pixels(std::array<std::size_t, 4>{3, 1, 4, 4});
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels.flat(i) = static_cast<std::uint8_t>(i * 5);
    const xt::xtensor<std::int64_t, 1> labels = {2, 0, 9};
    const train::dataset data = train::dataset_from_xtensor(xt::cast<float>(pixels) / 255.0F, labels);
    CHECK(data.size() == 3);
    CHECK(data.item_size() == 16);
    CHECK(data.inputs.extents() == dims{3, 1, 4, 4});
    CHECK(data.inputs[20] == 100.0F / 255.0F);
    CHECK(data.labels == std::vector<std::int32_t>{2, 0, 9});

    const xt::xtensor<float, 4> images = xt::cast<float>(pixels);
    CHECK(train::dataset_from_xtensor(images, labels).inputs.data() != images.data());  // owns its copy

    const xt::xtensor<int, 1> two = {1, 2};
    CHECK(error_of([&] { (void)train::dataset_from_xtensor(images, two); }) ==
          "train::dataset_from_xtensor: expected 3 labels {3} for images {3, 1, 4, 4}, got {2}");
    const xt::xtensor<int, 1> negative = {1, -4, 2};
    CHECK(error_of([&] { (void)train::dataset_from_xtensor(images, negative); }) ==
          "train::dataset_from_xtensor: label 1 is -4; labels are class numbers 0..2147483647");
    const xt::xtensor<float, 3> flat = xt::zeros<float>({3, 4, 4});
    CHECK(error_of([&] { (void)train::dataset_from_xtensor(flat, labels); }) ==
          "train::dataset_from_xtensor: expected a rank-4 NCHW xtensor expression {N, C, H, W}, got rank 3 "
          "{3, 4, 4}");
}

TEST_CASE("xtensor: a wrong rank or shape is an error naming the expected and actual shapes") {
    test::recording_model model;  // {2, 1, 28, 28} -> {2, 10, 1, 1}
    const xt::xtensor<float, 3> rank3 = xt::zeros<float>({2, 28, 28});
    CHECK(error_of([&] { (void)xt_run(model, rank3); }) ==
          "stemshare::xt_run: expected input {2, 1, 28, 28}, got {2, 28, 28}");
    const xt::xarray<float> rank2 = xt::zeros<float>({28, 28});
    CHECK(error_of([&] { (void)xt_run(model, rank2); }) ==
          "stemshare::xt_run: expected input {2, 1, 28, 28}, got {28, 28}");
    const xt::xarray<float> rank7 = xt::zeros<float>({1, 1, 1, 1, 1, 1, 2});
    CHECK(error_of([&] { (void)xt_run(model, rank7); }) ==
          "stemshare::xt_run: expected input {2, 1, 28, 28}, got {1, 1, 1, 1, 1, 1, 2}");
    const xt::xtensor<float, 4> batch1 = xt::zeros<float>({1, 1, 28, 28});
    CHECK(error_of([&] { (void)xt_run(model, batch1); }) ==
          "stemshare::xt_run: expected input {2, 1, 28, 28}, got {1, 1, 28, 28}");
    CHECK(model.last_src == nullptr);  // nothing ran

    CHECK(error_of([&] { (void)from_xtensor(rank3); }) ==
          "stemshare::from_xtensor: expected a rank-4 NCHW xtensor expression {N, C, H, W}, got rank 3 {2, "
          "28, 28}");
    const xt::xtensor<float, 4> empty = xt::zeros<float>({0, 1, 28, 28});
    CHECK(error_of([&] { (void)from_xtensor(empty); }) ==
          "stemshare::from_xtensor: expected positive extents in the xtensor expression, got {0, 1, 28, 28}");
    tensor<float> flat(dims{2, 10});
    CHECK(error_of([&] { (void)as_xtensor(flat); }) ==
          "stemshare::as_xtensor: expected a rank-4 tensor, got {2, 10}");
    tensor<float> nhwc(dims{1, 2, 2, 3}, layout::nhwc);
    CHECK(error_of([&] { (void)as_xtensor(nhwc); }) ==
          "stemshare::as_xtensor: expected a plain (row-major) tensor, got nhwc {1, 2, 2, 3}");
}
