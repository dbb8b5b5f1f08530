// Ekya's golden model and the cameras' base (experiment/ekya_models.hpp): the augmentation is
// seeded, bounded and keeps labels; weight files are checked by id and errors name the file; the
// committed golden model labels drifted frames far better than the cameras' base does.

#include <stemshare/experiment/ekya_models.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fashion/dataset.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/io/save_weights.hpp>
#include <stemshare/train/evaluate.hpp>
#include <stemshare/train/initialise.hpp>

#include "support/skip.hpp"

namespace ex = stemshare::experiment;

namespace {

const std::filesystem::path schedule_file = STEMSHARE_EKYA_DRIFT_JSON;
const std::filesystem::path models_dir = STEMSHARE_EKYA_MODELS_DIR;

stemshare::tensor<float> random_images(std::int64_t n, std::uint32_t seed) {
    stemshare::tensor<float> images(stemshare::dims{n, 1, 28, 28});
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (float& v : images.values()) v = u(rng);
    return images;
}

std::filesystem::path scratch(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / "stemshare-test-ekya-models";
    std::filesystem::create_directories(dir);
    return dir / name;
}

}  // namespace

TEST_CASE("ekya models: augmented copies are seeded, bounded, keep their labels and are perturbed") {
    const auto schedule = ex::load_drift_schedule(schedule_file);
    const auto images = random_images(100, 5);
    std::vector<std::int32_t> labels(100);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % 10);
    std::vector<std::int64_t> items;
    for (std::int64_t i = 10; i < 90; ++i) items.push_back(i);
    const auto a = ex::augmented(images, labels, items, schedule, 3, 16);
    const auto b = ex::augmented(images, labels, items, schedule, 3, 16);
    const auto c = ex::augmented(images, labels, items, schedule, 4, 16);
    REQUIRE(a.size() == 80);
    CHECK(std::equal(a.inputs.values().begin(), a.inputs.values().end(), b.inputs.values().begin()));
    CHECK_FALSE(std::equal(a.inputs.values().begin(), a.inputs.values().end(), c.inputs.values().begin()));
    CHECK(std::all_of(a.inputs.values().begin(), a.inputs.values().end(),
                      [](float v) { return v >= 0.0f && v <= 1.0f; }));

    // With a camera that does not perturb, each copy is one chosen item with its label, each item
    // once, in the same seeded order; the real schedule moves the pixels of those same copies.
    ex::drift_schedule still;
    still.cameras.push_back(
        {"still", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {}, {}});
    const auto plain = ex::augmented(images, labels, items, still, 3, 16);
    std::vector<std::int64_t> seen;
    double moved = 0;
    for (std::int64_t k = 0; k < plain.size(); ++k) {
        const float* copy = plain.inputs.data() + k * 784;
        const auto match = std::find_if(items.begin(), items.end(), [&](std::int64_t item) {
            return std::equal(copy, copy + 784, images.data() + item * 784,
                              [](float x, float y) { return std::abs(x - y) < 1e-5f; });
        });
        REQUIRE(match != items.end());
        CHECK(plain.labels[static_cast<std::size_t>(k)] == labels[static_cast<std::size_t>(*match)]);
        CHECK(a.labels[static_cast<std::size_t>(k)] == plain.labels[static_cast<std::size_t>(k)]);
        seen.push_back(*match);
        for (std::int64_t p = 0; p < 784; ++p) moved += std::abs(a.inputs.data()[k * 784 + p] - copy[p]);
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen == items);
    CHECK(moved / (80.0 * 784.0) > 0.05);  // the schedule's perturbations change the pixels
    CHECK_THROWS_WITH_AS((void)ex::augmented(images, labels, std::vector<std::int64_t>{100}, schedule, 3, 16),
                         doctest::Contains("item 100 is outside the images"), stemshare::error);
    CHECK_THROWS_WITH_AS((void)ex::augmented(images, labels, items, schedule, 3, 0),
                         doctest::Contains("chunk must be positive"), stemshare::error);
}

TEST_CASE("ekya models: weight files are checked by id and errors name the file") {
    const auto missing = scratch("missing.safetensors");
    std::filesystem::remove(missing);
    CHECK_THROWS_WITH_AS((void)ex::load_golden(missing), doctest::Contains("stemshare train ekya"),
                         stemshare::error);
    CHECK_THROWS_WITH_AS((void)ex::load_golden(missing), doctest::Contains(missing.string().c_str()),
                         stemshare::error);

    // The cameras' base is not a golden model (another id, another architecture), nor the reverse.
    stemshare::graph base = stemshare::zoo::fashion_mobilenet.to_graph();
    stemshare::train::initialise(base, 1);
    const auto base_file = scratch("base.safetensors");
    ex::save_camera_base(base, base_file, {});
    CHECK_NOTHROW((void)ex::load_camera_base(base_file));
    CHECK_THROWS_WITH_AS((void)ex::load_golden(base_file), doctest::Contains("not the golden model"),
                         stemshare::error);
    // Weights without an id (a plain `io::save_weights`) are refused too.
    const auto plain = scratch("plain.safetensors");
    stemshare::io::save_weights(base, plain);
    CHECK_THROWS_WITH_AS((void)ex::load_camera_base(plain), doctest::Contains("(none)"), stemshare::error);
    // A truncated file is the reader's named error, not a crash.
    const auto cut = scratch("cut.safetensors");
    std::filesystem::copy_file(base_file, cut, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(cut, std::filesystem::file_size(base_file) / 2);
    CHECK_THROWS_WITH_AS((void)ex::load_camera_base(cut), doctest::Contains(cut.string().c_str()),
                         stemshare::error);
    // Pretraining needs the items the cameras do not use.
    ex::pretraining_report report;
    const auto few = random_images(64, 2);
    const std::vector<std::int32_t> labels(64, 0);
    CHECK_THROWS_WITH_AS((void)ex::train_camera_base(few, labels, {}, report),
                         doctest::Contains("needs more than 10000 training images"), stemshare::error);
}

TEST_CASE("ekya models: the committed golden model labels drifted frames far better than the cameras' base") {
    STEMSHARE_SKIP_IF(!stemshare::fashion::dataset_available(STEMSHARE_FASHION_MNIST_DIR),
                      "Fashion-MNIST is not installed (Debian: dataset-fashion-mnist)");
    const auto golden = ex::load_golden(models_dir / "ekya_golden.safetensors");
    const auto base = ex::load_camera_base(models_dir / "ekya_base.safetensors");
    auto schedule = ex::load_drift_schedule(schedule_file);
    schedule.frames_per_window = 400;
    const auto test = stemshare::fashion::load_dataset(stemshare::fashion::dataset_split::test,
                                                       STEMSHARE_FASHION_MNIST_DIR);
    const std::vector<std::int32_t> labels(test.labels.begin(), test.labels.end());
    for (std::size_t camera = 0; camera < schedule.cameras.size(); ++camera) {
        const auto last = ex::make_window(test.images, labels, schedule, camera, 3, 4, 9);
        const double golden_accuracy =
            stemshare::train::accuracy(stemshare::train::predict(golden, last.images), last.labels);
        const double base_accuracy =
            stemshare::train::accuracy(stemshare::train::predict(base, last.images), last.labels);
        CAPTURE(camera);
        CAPTURE(base_accuracy);
        CHECK(golden_accuracy >= 0.7);
        CHECK(golden_accuracy >= base_accuracy + 0.1);
    }
}
