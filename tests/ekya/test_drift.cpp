// Ekya's drifting cameras: seeded frames (same seed, same bits), bounded values, the class mix
// honoured, the schedule file's errors named, and a model trained on window 0 losing accuracy on
// the last window.

#include <stemshare/experiment/drift_stream.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

#include <fashion/dataset.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/train/evaluate.hpp>
#include <stemshare/train/fit.hpp>
#include <stemshare/train/initialise.hpp>
#include <stemshare/train/network.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>

#include "support/skip.hpp"

namespace ex = stemshare::experiment;

namespace {

const std::filesystem::path schedule_file = STEMSHARE_EKYA_DRIFT_JSON;

struct source {
    stemshare::tensor<float> images;
    std::vector<std::int32_t> labels;
};

// 60 random images, 6 per class.
source synthetic_source() {
    source s{stemshare::tensor<float>(stemshare::dims{60, 1, 28, 28}), {}};
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (float& v : s.images.values()) v = u(rng);
    for (int i = 0; i < 60; ++i) s.labels.push_back(i % 10);
    return s;
}

}  // namespace

TEST_CASE("ekya drift: same seed gives the same bits, another seed other frames") {
    const auto schedule = ex::load_drift_schedule(schedule_file);
    const source s = synthetic_source();
    const auto a = ex::make_window(s.images, s.labels, schedule, 1, 3, 5, 42);
    const auto b = ex::make_window(s.images, s.labels, schedule, 1, 3, 5, 42);
    const auto c = ex::make_window(s.images, s.labels, schedule, 1, 3, 5, 43);
    REQUIRE(a.images.numel() == b.images.numel());
    CHECK(std::equal(a.images.values().begin(), a.images.values().end(), b.images.values().begin()));
    CHECK(a.labels == b.labels);
    CHECK_FALSE(std::equal(a.images.values().begin(), a.images.values().end(), c.images.values().begin()));
}

TEST_CASE("ekya drift: frames are bounded and follow the class mix") {
    auto schedule = ex::load_drift_schedule(schedule_file);
    schedule.cameras[0].classes_start = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    schedule.cameras[0].end.noise = 0.5;
    schedule.cameras[0].end.brightness = 0.6;
    const source s = synthetic_source();
    for (int window : {0, 4}) {
        const auto f = ex::make_window(s.images, s.labels, schedule, 0, window, 5, 7);
        CHECK(f.images.extents()[0] == schedule.frames_per_window);
        CHECK(f.labels.size() == static_cast<std::size_t>(schedule.frames_per_window));
        const auto [lo, hi] = std::minmax_element(f.images.values().begin(), f.images.values().end());
        CHECK(*lo >= 0.0f);
        CHECK(*hi <= 1.0f);
        for (std::int32_t l : f.labels) CHECK((l >= 0 && l < 10));
        if (window == 0)
            for (std::int32_t l : f.labels) CHECK((l == 0 || l == 9));
    }
}

TEST_CASE("ekya drift: perturbations move the pixels the way they say") {
    std::mt19937_64 engine(1);
    xt::xtensor<float, 3> img = xt::zeros<float>({1, 5, 5});
    img(0, 2, 2) = 0.5f;
    const auto same = ex::perturb(img, {}, engine);
    CHECK(same == img);
    ex::perturbation right;
    right.shift = 2;  // right by 2, down by 1
    const auto moved = ex::perturb(img, right, engine);
    CHECK(moved(0, 3, 4) == 0.5f);
    ex::perturbation bright;
    bright.brightness = 0.3;
    CHECK(xt::mean(ex::perturb(img, bright, engine))() == doctest::Approx(xt::mean(img)() + 0.3));
    ex::perturbation blur;
    blur.blur = 1.0;
    CHECK(ex::perturb(img, blur, engine)(0, 2, 2) == doctest::Approx(0.5 / 9));
    ex::perturbation turn;
    turn.rotation = 90;
    img(0, 0, 2) = 1.0f;  // top centre goes to the left centre under a counter-clockwise quarter turn
    CHECK(ex::perturb(img, turn, engine)(0, 2, 0) == 1.0f);
}

TEST_CASE("ekya drift: bad schedules and arguments give named errors") {
    const auto parse = [](const char* text) { return ex::parse_drift_schedule(nlohmann::json::parse(text), "d.json"); };
    CHECK_THROWS_WITH_AS((void)parse(R"({"cameras": []})"), doctest::Contains("d.json: cameras"), stemshare::error);
    CHECK_THROWS_WITH_AS((void)parse(R"({"cameras": [{"classes_start": [1, 2]}]})"),
                         doctest::Contains("cameras[0].classes_start"), stemshare::error);
    CHECK_THROWS_WITH_AS(
        (void)parse(R"({"cameras": [{"classes_start": [1,1,1,1,1,1,1,1,1,1], "end": {"glare": 1}}]})"),
        doctest::Contains("cameras[0].end.glare"), stemshare::error);
    CHECK_THROWS_WITH_AS(
        (void)parse(R"({"cameras": [{"classes_start": [1,1,1,1,1,1,1,1,1,1], "end": {"blur": 2}}]})"),
        doctest::Contains("cameras[0].end.blur"), stemshare::error);
    const auto schedule = ex::load_drift_schedule(schedule_file);
    const source s = synthetic_source();
    CHECK_THROWS_WITH_AS((void)ex::make_window(s.images, s.labels, schedule, 0, 5, 5, 1),
                         doctest::Contains("window 5 is outside"), stemshare::error);
    CHECK_THROWS_WITH_AS((void)ex::make_window(s.images, s.labels, schedule, 0, -1, 5, 1),
                         doctest::Contains("window -1 is outside"), stemshare::error);
}

TEST_CASE("ekya drift: a model trained on window 0 loses accuracy on the last window") {
    STEMSHARE_SKIP_IF(!stemshare::fashion::dataset_available(STEMSHARE_FASHION_MNIST_DIR),
                      "Fashion-MNIST is not installed (Debian: dataset-fashion-mnist)");
    using namespace stemshare;
    const auto train_split = fashion::load_dataset(fashion::dataset_split::train, STEMSHARE_FASHION_MNIST_DIR);
    const auto test_split = fashion::load_dataset(fashion::dataset_split::test, STEMSHARE_FASHION_MNIST_DIR);
    const std::vector<std::int32_t> train_labels(train_split.labels.begin(), train_split.labels.end());
    const std::vector<std::int32_t> test_labels(test_split.labels.begin(), test_split.labels.end());
    auto schedule = ex::load_drift_schedule(schedule_file);
    schedule.frames_per_window = 1536;
    const auto window0 = ex::make_window(train_split.images, train_labels, schedule, 0, 0, 5, 11);
    train::dataset data{window0.images, window0.labels};
    graph g = zoo::fashion_mobilenet.to_graph();
    train::initialise(g, 5);
    train::network net(std::move(g), {.batch_norm = train::batch_norm_mode::batch_statistics});
    train::fit_options fit;
    fit.epochs = 3;
    (void)train::fit(net, data, fit);
    const graph model = net.model();
    schedule.frames_per_window = 400;
    const auto first = ex::make_window(test_split.images, test_labels, schedule, 0, 0, 5, 12);
    const auto last = ex::make_window(test_split.images, test_labels, schedule, 0, 4, 5, 12);
    const double acc_first = train::accuracy(train::predict(model, first.images), first.labels);
    const double acc_last = train::accuracy(train::predict(model, last.images), last.labels);
    MESSAGE("camera 'gate': accuracy " << acc_first << " on window 0, " << acc_last << " on window 4");
    CHECK(acc_first > 0.5);
    CHECK(acc_last < acc_first - 0.1);
}
