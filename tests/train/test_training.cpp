// Training end to end: SGD lowers the loss of a tiny net, deterministically for a given seed.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/train/dataset.hpp>
#include <stemshare/train/fit.hpp>
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

train::fit_options options_for(int epochs, std::int64_t batch_size, std::uint64_t seed, float learning_rate = 0.05F) {
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
