// Eigen interop: row-major float tensors, tensor maps and row-major matrix maps reach the model
// without a copy (same data pointer); shuffles, strides, lazy expressions and column-major
// matrices give the same model output as an explicit copy, bit for bit; results read back as
// Eigen maps; a column-major tensor, a wrong rank or a wrong shape is an error naming both shapes.
#include <stemshare/interop/eigen.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/tensor/fill.hpp>

#include "interop_models.hpp"
#include "support/error_of.hpp"

using namespace stemshare;
using stemshare::test::error_of;
using stemshare::test::same_bits;

namespace {

using row_tensor = Eigen::Tensor<float, 4, Eigen::RowMajor>;
using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

row_tensor random_images(Eigen::Index n, Eigen::Index c, Eigen::Index h, Eigen::Index w, std::uint64_t seed) {
    row_tensor out(n, c, h, w);
    fill_uniform(std::span<float>(out.data(), static_cast<std::size_t>(out.size())), seed, 0.0F, 1.0F);
    return out;
}

/// A row-major tensor expression copied element by element into a stemshare tensor.
template <class E>
tensor<float> explicit_copy(const E& e) {
    const row_tensor evaluated = e;  // Eigen's own evaluation; the loop below fixes the order
    const auto& d = evaluated.dimensions();
    tensor<float> out(dims{d[0], d[1], d[2], d[3]});
    std::int64_t i = 0;
    for (Eigen::Index n = 0; n < d[0]; ++n)
        for (Eigen::Index c = 0; c < d[1]; ++c)
            for (Eigen::Index h = 0; h < d[2]; ++h)
                for (Eigen::Index w = 0; w < d[3]; ++w) out[i++] = evaluated(n, c, h, w);
    return out;
}

/// A matrix expression {N, features} copied row by row into a stemshare tensor {N, features, 1, 1}.
template <class M>
tensor<float> explicit_copy_rows(const M& m) {
    tensor<float> out(dims{m.rows(), m.cols(), 1, 1});
    std::int64_t i = 0;
    for (Eigen::Index r = 0; r < m.rows(); ++r)
        for (Eigen::Index c = 0; c < m.cols(); ++c) out[i++] = static_cast<float>(m(r, c));
    return out;
}

template <class Eigen_dense>
std::span<const float> values_of(const Eigen_dense& x) {
    return {x.data(), static_cast<std::size_t>(x.size())};
}

}  // namespace

TEST_CASE("eigen: row-major float tensors, tensor maps and row-major matrix maps are borrowed") {
    row_tensor images = random_images(2, 1, 28, 28, 1);
    const auto from_tensor = from_eigen(images);
    CHECK_FALSE(from_tensor.is_copy());
    CHECK(from_tensor.view().data() == images.data());
    CHECK(from_tensor.extents() == dims{2, 1, 28, 28});

    std::vector<float> buffer(2 * 28 * 28, 0.25F);
    Eigen::TensorMap<const row_tensor> mapped(buffer.data(), 2, 1, 28, 28);
    CHECK(from_eigen(mapped).view().data() == buffer.data());
    CHECK(from_eigen(Eigen::TensorRef<const row_tensor>(mapped)).view().data() == buffer.data());

    std::vector<float> rows(3 * test::dense_features, 1.0F);
    Eigen::Map<const row_matrix> matrix(rows.data(), 3, test::dense_features);
    const auto from_matrix = from_eigen(matrix);
    CHECK_FALSE(from_matrix.is_copy());
    CHECK(from_matrix.view().data() == rows.data());
    CHECK(from_matrix.extents() == dims{3, test::dense_features, 1, 1});
    // A run of whole rows is contiguous too.
    CHECK(from_eigen(matrix.middleRows(1, 2)).view().data() == rows.data() + test::dense_features);

    test::recording_model model;
    const row_tensor scores = eigen_run(model, images);
    CHECK(model.last_src == images.data());
    CHECK(model.last_dst == scores.data());  // the model wrote into the returned tensor

    test::recording_model dense{.batch_size = 3, .in = {test::dense_features, 1, 1}, .out = {5, 1, 1}};
    const row_matrix dense_scores = eigen_run(dense, matrix);
    CHECK(dense.last_src == rows.data());
    CHECK(dense.last_dst == dense_scores.data());
    CHECK(dense_scores.rows() == 3);
    CHECK(dense_scores.cols() == 5);
}

TEST_CASE("eigen: an rvalue tensor is kept alive by the input, still without a copy") {
    row_tensor images = random_images(1, 1, 28, 28, 2);
    const row_tensor expected = images;
    const float* data = images.data();
    const interop::input_tensor in = from_eigen(std::move(images));
    images = row_tensor(1, 1, 1, 1);
    CHECK_FALSE(in.is_copy());
    CHECK(in.view().data() == data);
    CHECK(same_bits(in.view().values(), values_of(expected)));
}

TEST_CASE("eigen: shuffles, strides and lazy expressions give the model output of an explicit copy") {
    const graph g = test::image_graph();
    onednn::compiled_graph model(g, {.batch = 2, .threads = 1});
    const row_tensor images = random_images(2, 1, 28, 28, 3);
    const auto run_copy = [&](const auto& e) { return model.run(explicit_copy(e).view()); };
    // The checks below have teeth: the model's scores change when H and W are swapped.
    const row_tensor swapped = images.shuffle(std::array<int, 4>{0, 1, 3, 2});
    REQUIRE_FALSE(same_bits(values_of(eigen_run(model, images)), values_of(eigen_run(model, swapped))));

    SUBCASE("a shuffle (H and W swapped back)") {
        const auto shuffled = swapped.shuffle(std::array<int, 4>{0, 1, 3, 2});
        CHECK(from_eigen(shuffled).is_copy());
        CHECK(same_bits(values_of(eigen_run(model, shuffled)), run_copy(shuffled).values()));
    }
    SUBCASE("a stride (every other row and column of a 56x56 image)") {
        const row_tensor big = random_images(2, 1, 56, 56, 4);
        const auto strided = big.stride(std::array<Eigen::Index, 4>{1, 1, 2, 2});
        CHECK(from_eigen(strided).is_copy());
        CHECK(same_bits(values_of(eigen_run(model, strided)), run_copy(strided).values()));
    }
    SUBCASE("a lazy expression over 8-bit pixels") {
        Eigen::Tensor<std::uint8_t, 4, Eigen::RowMajor> pixels(2, 1, 28, 28);
        for (Eigen::Index i = 0; i < pixels.size(); ++i)
            pixels.data()[i] = static_cast<std::uint8_t>(i * 37 % 256);
        const auto normalised = (pixels.cast<float>() / 255.0F - 0.286F) / 0.353F;
        CHECK(from_eigen(normalised).is_copy());
        CHECK(same_bits(values_of(eigen_run(model, normalised)), run_copy(normalised).values()));
    }
    SUBCASE("a double tensor (converted to float)") {
        const Eigen::Tensor<double, 4, Eigen::RowMajor> doubles = images.cast<double>() * 0.5;
        CHECK(from_eigen(doubles).is_copy());
        CHECK(same_bits(values_of(eigen_run(model, doubles)), run_copy(doubles.cast<float>()).values()));
    }
    SUBCASE("a misaligned tensor map is copied byte-wise") {
        alignas(float) std::array<std::byte, 2 * 28 * 28 * sizeof(float) + 2> bytes{};
        std::memcpy(bytes.data() + 2, images.data(), 2 * 28 * 28 * sizeof(float));
        Eigen::TensorMap<const row_tensor> misaligned(reinterpret_cast<const float*>(bytes.data() + 2), 2, 1,
                                                      28, 28);
        const auto in = from_eigen(misaligned);
        CHECK(in.is_copy());
        CHECK(same_bits(in.view().values(), values_of(images)));
    }
}

TEST_CASE("eigen: {N, features} matrices, column-major or strided, match an explicit copy bit for bit") {
    const graph g = test::dense_graph();
    onednn::compiled_graph model(g, {.batch = 3, .threads = 1});
    row_matrix wide(3, 2 * test::dense_features);
    fill_uniform(std::span<float>(wide.data(), static_cast<std::size_t>(wide.size())), 5);
    const auto run_copy = [&](const auto& m) { return model.run(explicit_copy_rows(m).view()); };

    // The checks below have teeth: the scores change when a row's features are reversed.
    const row_matrix reversed = wide.leftCols(test::dense_features).rowwise().reverse();
    REQUIRE_FALSE(same_bits(values_of(eigen_run(model, reversed)),
                            values_of(eigen_run(model, row_matrix(wide.leftCols(test::dense_features))))));

    const Eigen::MatrixXf column_major = wide.leftCols(test::dense_features);
    CHECK(from_eigen(column_major).is_copy());
    CHECK(same_bits(values_of(eigen_run(model, column_major)), run_copy(column_major).values()));

    const auto left = wide.leftCols(test::dense_features);  // rows with a gap between them
    CHECK(from_eigen(left).is_copy());
    CHECK(same_bits(values_of(eigen_run(model, left)), run_copy(left).values()));

    const auto lazy = (wide.rightCols(test::dense_features).array() * 2.0F).matrix();
    CHECK(from_eigen(lazy).is_copy());
    CHECK(same_bits(values_of(eigen_run(model, lazy)), run_copy(lazy).values()));

    const row_matrix packed = left;
    CHECK_FALSE(from_eigen(packed).is_copy());
    CHECK(same_bits(values_of(eigen_run(model, packed)), run_copy(packed).values()));
}

TEST_CASE("eigen: results read back as Eigen maps without a copy") {
    tensor<float> t(dims{2, 10, 1, 1});
    fill_uniform(t.values(), 6);
    auto mapped = as_eigen(t.view());
    CHECK(mapped.data() == t.data());
    mapped(1, 3, 0, 0) = 42.0F;  // writes through
    CHECK(t[13] == 42.0F);
    const auto scores = as_eigen_matrix(std::as_const(t).view());
    CHECK(scores.data() == t.data());
    CHECK(scores.rows() == 2);
    CHECK(scores.cols() == 10);
    CHECK(scores(1, 3) == 42.0F);
    Eigen::Index best = 0;
    scores.row(1).maxCoeff(&best);
    CHECK(best == 3);
}

TEST_CASE("eigen: the executor takes an Eigen frame and gives the scores of a plain tensor") {
    runtime::executor executor({.input = {1, 28, 28}, .stream_fps = 30, .threads = 1});
    executor.add_app("images", test::image_graph(), {.num_frozen = 2});
    const row_tensor big = random_images(1, 1, 56, 56, 7);
    const auto frame = big.stride(std::array<Eigen::Index, 4>{1, 1, 2, 2});

    const std::vector<float> from_eigen_frame = [&] {
        const auto* app = eigen_process(executor, frame).find("images");
        REQUIRE(app != nullptr);
        return std::vector<float>(app->scores.begin(), app->scores.end());
    }();
    const tensor<float> copy = explicit_copy(frame);
    const auto* plain = executor.process(copy.view()).find("images");
    REQUIRE(plain != nullptr);
    CHECK(same_bits(from_eigen_frame, plain->scores));

    const Eigen::Tensor<float, 4> column_major(1, 1, 28, 28);
    CHECK(
        error_of([&] { (void)eigen_process(executor, column_major); }) ==
        "stemshare::eigen_process: expected a row-major Eigen tensor (Eigen::RowMajor) {1, 1, 28, 28}, got a "
        "column-major one {1, 1, 28, 28}; declare it RowMajor, or swap_layout() and shuffle() it");
    CHECK(executor.frames() == 2);
}

TEST_CASE("eigen: a column-major tensor, a wrong rank or a wrong shape is an error naming both shapes") {
    test::recording_model model;  // {2, 1, 28, 28} -> {2, 10, 1, 1}
    Eigen::Tensor<float, 4> column_major(2, 1, 28, 28);
    column_major.setZero();
    CHECK(error_of([&] { (void)from_eigen(column_major); }) ==
          "stemshare::from_eigen: expected a row-major Eigen tensor (Eigen::RowMajor) {N, C, H, W}, got a "
          "column-major one {2, 1, 28, 28}; declare it RowMajor, or swap_layout() and shuffle() it");
    CHECK(error_of([&] { (void)eigen_run(model, column_major); }) ==
          "stemshare::eigen_run: expected a row-major Eigen tensor (Eigen::RowMajor) {2, 1, 28, 28}, got a "
          "column-major one {2, 1, 28, 28}; declare it RowMajor, or swap_layout() and shuffle() it");

    Eigen::Tensor<float, 3, Eigen::RowMajor> rank3(2, 28, 28);
    rank3.setZero();
    CHECK(error_of([&] { (void)from_eigen(rank3); }) ==
          "stemshare::from_eigen: expected a rank-4 NCHW Eigen tensor {N, C, H, W}, got rank 3 {2, 28, 28}");
    CHECK(error_of([&] { (void)eigen_run(model, rank3); }) ==
          "stemshare::eigen_run: expected a rank-4 NCHW Eigen tensor {2, 1, 28, 28}, got rank 3 {2, 28, 28}");

    const row_tensor wrong_size = random_images(2, 1, 27, 28, 8);
    CHECK(error_of([&] { (void)eigen_run(model, wrong_size); }) ==
          "stemshare::eigen_run: expected input {2, 1, 28, 28}, got {2, 1, 27, 28}");
    const row_matrix rows = row_matrix::Zero(2, 784);
    CHECK(error_of([&] { (void)eigen_run(model, rows); }) ==
          "stemshare::eigen_run: expected input {2, 1, 28, 28}, got {2, 784}");
    CHECK(model.last_src == nullptr);  // nothing ran

    const row_tensor empty(0, 1, 28, 28);
    CHECK(error_of([&] { (void)from_eigen(empty); }) ==
          "stemshare::from_eigen: expected positive extents in the Eigen tensor, got {0, 1, 28, 28}");
    const row_matrix no_rows(0, 12);
    CHECK(error_of([&] { (void)from_eigen(no_rows); }) ==
          "stemshare::from_eigen: expected a non-empty {N, features} Eigen matrix, got {0, 12}");
    tensor<float> flat(dims{2, 10});
    CHECK(error_of([&] { (void)as_eigen(flat.view()); }) ==
          "stemshare::as_eigen: expected a plain rank-4 tensor, got plain {2, 10}");
}
