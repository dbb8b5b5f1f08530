// Training end to end: SGD lowers the loss of a tiny net, deterministically for a given seed.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <stemshare/backend/reference/executor.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/train/dataset.hpp>
#include <stemshare/train/evaluate.hpp>
#include <stemshare/train/fine_tune.hpp>
#include <stemshare/train/fit.hpp>
#include <stemshare/train/initialise.hpp>
#include <stemshare/train/loss.hpp>
#include <stemshare/train/network.hpp>

using namespace stemshare;

namespace {

graph tiny_net() {
    graph g(shape{1, 6, 6});
    g.add("conv", conv2d_spec{.out_channels = 4, .kernel = 3, .padding = 1, .bias = false});
    g.add("bn", batch_norm_spec{});
    g.add("act", activation_spec{activation_kind::relu});
    g.add("pool", pool2d_spec{.kind = pool_kind::max, .kernel = 2, .stride = 2});
    g.add("flat", flatten_spec{});
    g.add("fc", dense_spec{.out_features = 2});
    g.bind_random(7);
    return g;
}

// Two classes a small conv net can tell apart: a bright left half or a bright right half, plus noise.
train::dataset halves(std::int64_t count, std::uint64_t seed) {
    train::dataset d{tensor<float>(dims{count, 1, 6, 6}), {}};
    fill_uniform(d.inputs.values(), seed, 0.0F, 0.5F);
    for (std::int64_t i = 0; i < count; ++i) {
        const auto label = static_cast<std::int32_t>(i % 2);
        d.labels.push_back(label);
        for (std::int64_t y = 0; y < 6; ++y)
            for (std::int64_t x = 0; x < 3; ++x) d.inputs[i * 36 + y * 6 + x + 3 * label] += 0.6F;
    }
    return d;
}

train::fit_options options_for(int epochs, std::int64_t batch_size, std::uint64_t seed,
                               float learning_rate = 0.05F) {
    train::fit_options o;
    o.epochs = epochs;
    o.batch_size = batch_size;
    o.seed = seed;
    o.optimiser.learning_rate = learning_rate;
    return o;
}

double mean_loss(train::network& net, const train::dataset& d) {
    tensor<float> grad;
    const tensor<float>& logits = net.forward(d.inputs, false);
    return train::softmax_cross_entropy(logits, d.labels, grad);
}

}  // namespace

TEST_CASE("train: SGD lowers the loss of a tiny net, the same way for the same seed") {
    const train::dataset data = halves(64, 3);
    const train::fit_options options = options_for(4, 8, 9, 0.1F);
    for (auto mode : {train::batch_norm_mode::frozen, train::batch_norm_mode::batch_statistics}) {
        CAPTURE(static_cast<int>(mode));
        train::network a(tiny_net(), {.batch_norm = mode});
        train::network b(tiny_net(), {.batch_norm = mode});
        const double before = mean_loss(a, data);
        const auto history_a = train::fit(a, data, options);
        const auto history_b = train::fit(b, data, options);
        const double after = mean_loss(a, data);
        MESSAGE("loss " << before << " -> " << after);
        CHECK(history_a.steps == 4 * 8);
        CHECK(after < 0.5 * before);
        CHECK(history_a.epoch_loss.back() < history_a.epoch_loss.front());
        REQUIRE(history_a.epoch_loss == history_b.epoch_loss);
        for (std::size_t i = 0; i < a.model().size(); ++i)
            for (std::size_t j = 0; j < a.model().at(i).params.size(); ++j) {
                const auto va = a.model().at(i).params[j].values();
                const auto vb = b.model().at(i).params[j].values();
                REQUIRE(std::equal(va.begin(), va.end(), vb.begin(), vb.end()));
            }
        if (mode == train::batch_norm_mode::batch_statistics) {
            // Training moved the running statistics away from their initial values.
            const auto& running_mean = a.model().at(1).params[2];
            const graph fresh = tiny_net();
            CHECK(running_mean[0] != fresh.at(1).params[2][0]);
        }
    }
}

TEST_CASE("train: another seed visits the data in another order") {
    const train::dataset data = halves(64, 3);
    train::network a(tiny_net());
    train::network b(tiny_net());
    const auto ha = train::fit(a, data, options_for(1, 8, 1));
    const auto hb = train::fit(b, data, options_for(1, 8, 2));
    CHECK(ha.epoch_loss != hb.epoch_loss);
    CHECK(train::seeded_permutation(10, 4) == train::seeded_permutation(10, 4));
    CHECK(train::seeded_permutation(10, 4) != train::seeded_permutation(10, 5));
}

TEST_CASE("train: fit refuses a dataset without one full batch") {
    const train::dataset data = halves(6, 3);
    train::network net(tiny_net());
    CHECK_THROWS_WITH_AS(train::fit(net, data, options_for(1, 8, 1)), doctest::Contains("no full batch of 8"),
                         stemshare::error);
}

TEST_CASE("train: fine-tuning keeps the frozen stem bit-identical and trains the suffix on cached outputs") {
    graph start = tiny_net();
    const train::dataset data = halves(64, 11);
    train::fine_tune_options o;
    o.num_frozen = 3;
    o.fit = options_for(3, 8, 2, 0.1F);
    const train::fine_tune_result r = train::fine_tune(start, data, o);
    for (std::size_t i = 0; i < start.size(); ++i)
        for (std::size_t j = 0; j < start.at(i).params.size(); ++j) {
            const auto before = start.at(i).params[j].values();
            const auto after = r.model.at(i).params[j].values();
            const bool same = std::equal(before.begin(), before.end(), after.begin(), after.end());
            CAPTURE(i);
            CHECK(same == (i < 3));
        }
    CHECK(r.history.epoch_loss.back() < r.history.epoch_loss.front());

    // Training the suffix by hand on the stem's outputs gives the same weights: the cache is exact.
    const train::dataset features{reference::run(start.slice(0, 3), data.inputs.view()), data.labels};
    train::network suffix(start.slice(3, start.size()));
    (void)train::fit(suffix, features, o.fit);
    const auto& fc_cached = r.model.at(5).params[0].values();
    const auto& fc_by_hand = suffix.model().at(2).params[0].values();
    for (std::size_t i = 0; i < fc_cached.size(); ++i)
        CHECK(fc_cached[i] == doctest::Approx(fc_by_hand[i]).epsilon(1e-3));

    o.num_frozen = 6;
    CHECK_THROWS_WITH_AS((void)train::fine_tune(start, data, o), doctest::Contains("num_frozen 6"),
                         stemshare::error);
}

TEST_CASE("train: a new classifier replaces only the last layer, initialise gives neutral batch-norms") {
    graph g = tiny_net();
    const graph two = train::with_new_classifier(g, 3, 1);
    CHECK(two.output_shape() == shape{3, 1, 1});
    CHECK(two.size() == g.size());
    CHECK(std::equal(two.at(0).params[0].values().begin(), two.at(0).params[0].values().end(),
                     g.at(0).params[0].values().begin()));
    train::initialise(g, 4);
    const auto& bn = g.at(1).params;
    for (std::int64_t c = 0; c < 4; ++c) {
        CHECK(bn[0][c] == 1.0F);
        CHECK(bn[1][c] == 0.0F);
        CHECK(bn[2][c] == 0.0F);
        CHECK(bn[3][c] == 1.0F);
    }
    graph s(shape{1, 4, 4});
    s.add("sm", softmax_spec{});
    CHECK_THROWS_WITH_AS((void)train::with_new_classifier(s, 2, 1), doctest::Contains("dense classifier"),
                         stemshare::error);
}

TEST_CASE("train: binary detector rates count per class") {
    const std::vector<std::int32_t> predicted{1, 1, 0, 0, 1, 0};
    const std::vector<std::int32_t> labels{1, 1, 1, 0, 0, 0};
    const auto r = train::rates(predicted, labels);
    CHECK(r.true_positive_rate == doctest::Approx(2.0 / 3.0));
    CHECK(r.false_positive_rate == doctest::Approx(1.0 / 3.0));
    CHECK(train::accuracy(predicted, labels) == doctest::Approx(4.0 / 6.0));
}

TEST_CASE("run_batched: inputs of the wrong rank or item shape are refused naming both shapes") {
    const graph g = tiny_net();
    CHECK_THROWS_WITH_AS(
        (void)train::run_batched(g, tensor<float>(dims{3, 1, 5, 6})),
        doctest::Contains(
            "inputs are {3, 1, 5, 6} but the graph takes {N, c, h, w} with c x h x w = [1x6x6]"),
        stemshare::error);
    CHECK_THROWS_WITH_AS((void)train::run_batched(g, tensor<float>(dims{3, 36})),
                         doctest::Contains("inputs are {3, 36}"), stemshare::error);
    CHECK(train::run_batched(g, tensor<float>(dims{3, 1, 6, 6})).extents() == dims{3, 2, 1, 1});
}
