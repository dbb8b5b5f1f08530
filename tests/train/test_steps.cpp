// Training steps in steady state: no allocation outside libdnnl, learning-rate schedules, a
// non-finite loss that stops training and keeps the last good weights, and training in its own
// thread beside an executor serving frames (outputs bit for bit as when it runs alone).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <stemshare/graph/graph.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/train/fit.hpp>
#include <stemshare/train/loss.hpp>
#include <stemshare/train/network.hpp>
#include <stemshare/train/schedule.hpp>
#include <stemshare/train/sgd.hpp>

#include "support/allocation_counter.hpp"

using namespace stemshare;

namespace {

// Conv, depthwise conv, batch norm, relu6, a residual add, max pooling, a concat and a classifier.
graph mixed_net() {
    graph g(shape{4, 12, 12});
    const auto c = g.add("c", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1, .bias = false});
    g.add("c.bn", batch_norm_spec{});
    const auto a = g.add("c.act", activation_spec{activation_kind::relu6});
    g.add("dw", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1, .groups = 8, .bias = false});
    const auto bn = g.add("dw.bn", batch_norm_spec{});
    const auto sum = g.add("sum", add_spec{}, {bn, a});
    const auto pool = g.add("pool", pool2d_spec{.kind = pool_kind::max}, {sum});
    const auto side = g.add("side", conv2d_spec{.out_channels = 4, .kernel = 1, .stride = 2}, {c});
    g.add("cat", concat_spec{}, {pool, side});
    g.add("gap", global_avg_pool_spec{});
    g.add("fc", dense_spec{.out_features = 5});
    g.bind_random(3);
    return g;
}

// The kinds of today's mobile networks: hard-swish, a squeeze-and-excitation block (hard-sigmoid
// gate, per-channel multiply), a channel split into slices, a shuffle and SiLU.
graph gated_net() {
    graph g(shape{4, 12, 12});
    g.add("c", conv2d_spec{.out_channels = 16, .kernel = 3, .padding = 1, .bias = false});
    g.add("c.bn", batch_norm_spec{});
    const auto in = g.add("c.act", gate_activation_spec{.kind = gate_kind::hard_swish});
    g.add("se.pool", global_avg_pool_spec{});
    g.add("se.fc1", conv2d_spec{.out_channels = 4, .kernel = 1});
    g.add("se.act", activation_spec{activation_kind::relu});
    g.add("se.fc2", conv2d_spec{.out_channels = 16, .kernel = 1});
    const auto gate = g.add("se.gate", gate_activation_spec{.kind = gate_kind::hard_sigmoid});
    const auto scaled = g.add("se.scale", multiply_spec{}, {in, gate});
    const auto left = g.add("left", channel_slice_spec{0, 8}, {scaled});
    const auto right = g.add("right", channel_slice_spec{8, 8}, {scaled});
    const auto branch = g.add("branch", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1}, {right});
    g.add("cat", concat_spec{}, {left, branch});
    g.add("shuffle", channel_shuffle_spec{2});
    g.add("silu", gate_activation_spec{.kind = gate_kind::silu});
    g.add("gap", global_avg_pool_spec{});
    g.add("fc", dense_spec{.out_features = 5});
    g.bind_random(4);
    return g;
}

struct batch_data {
    tensor<float> x;
    std::vector<std::int32_t> labels;
};

batch_data make_batch(std::int64_t n, shape in, std::uint64_t seed) {
    batch_data b{tensor<float>(dims{n, in.c, in.h, in.w}), {}};
    fill_uniform(b.x.values(), seed, -1.0F, 1.0F);
    for (std::int64_t i = 0; i < n; ++i) b.labels.push_back(static_cast<std::int32_t>(i % 5));
    return b;
}

}  // namespace

TEST_CASE("train: steps after the first allocate nothing outside libdnnl") {
    for (const bool gated : {false, true})
        for (auto mode : {train::batch_norm_mode::frozen, train::batch_norm_mode::batch_statistics}) {
            CAPTURE(gated);
            CAPTURE(static_cast<int>(mode));
            train::network net(gated ? gated_net() : mixed_net(), {.batch_norm = mode, .threads = 1});
            train::sgd optimiser;
            const batch_data data = make_batch(8, net.model().input_shape(), 9);
            tensor<float> grad;
            const auto step = [&] {
                const tensor<float>& logits = net.forward(data.x, true);
                (void)train::softmax_cross_entropy(logits, data.labels, grad);
                net.backward(grad);
                optimiser.step(net, 0.01F);
            };
            step();  // plans the network, creates the velocities and the loss gradient
            step();
            std::size_t outside = 0;
            std::size_t total = 0;
            std::string where;
            {
                test::allocation_recorder recorder;
                for (int i = 0; i < 3; ++i) step();
                total = recorder.count();
                outside = recorder.outside("libdnnl", &where);
            }
            INFO("first callers outside libdnnl: " << where);
            CHECK(outside == 0);
            MESSAGE("allocations inside libdnnl per step: " << static_cast<double>(total) / 3.0 << ", arena "
                                                            << net.arena_bytes() << " bytes");
            // The recorder does see our own allocations (the check above can fail).
            test::allocation_recorder recorder;
            const std::vector<float> probe(3);
            CHECK(recorder.outside("libdnnl") >= 1);
        }
}

TEST_CASE("train: step and cosine learning-rate schedules") {
    const train::lr_schedule step{.kind = train::schedule_kind::step, .step_size = 10, .gamma = 0.5};
    CHECK(step.rate(0.2, 0, 100) == doctest::Approx(0.2));
    CHECK(step.rate(0.2, 9, 100) == doctest::Approx(0.2));
    CHECK(step.rate(0.2, 10, 100) == doctest::Approx(0.1));
    CHECK(step.rate(0.2, 25, 100) == doctest::Approx(0.05));
    const train::lr_schedule cosine{.kind = train::schedule_kind::cosine};
    CHECK(cosine.rate(0.2, 0, 100) == doctest::Approx(0.2));
    CHECK(cosine.rate(0.2, 50, 100) == doctest::Approx(0.1));
    CHECK(cosine.rate(0.2, 100, 100) == doctest::Approx(0.0));
    const train::lr_schedule constant{.kind = train::schedule_kind::constant};
    CHECK(constant.rate(0.2, 77, 100) == doctest::Approx(0.2));
    const train::lr_schedule bad{.kind = train::schedule_kind::step, .step_size = 0};
    CHECK_THROWS_AS((void)bad.rate(0.2, 1, 10), stemshare::error);
}

TEST_CASE("train: a non-finite loss stops fit naming the step and keeps the last good weights") {
    graph g(shape{4, 12, 12});
    g.add("gap", global_avg_pool_spec{});
    g.add("fc", dense_spec{.out_features = 5});
    g.bind_random(4);
    train::network net(g, {.threads = 1});
    const batch_data b = make_batch(32, g.input_shape(), 5);
    train::dataset data{b.x, b.labels};
    train::fit_options o;
    o.epochs = 50;
    o.batch_size = 8;
    o.optimiser.learning_rate = 1e30F;  // diverges within a few steps
    o.optimiser.momentum = 0.0F;
    o.schedule = train::lr_schedule{.kind = train::schedule_kind::constant};
    CHECK_THROWS_WITH_AS(train::fit(net, data, o), doctest::Contains("not finite at step"), stemshare::error);
    // The weights left are ones that gave a finite loss.
    for (const auto& p : net.model().at(1).params)
        for (float v : p.values()) REQUIRE(std::isfinite(v));
    tensor<float> grad;
    const tensor<float>& logits = net.forward(b.x, false);
    CHECK(std::isfinite(train::softmax_cross_entropy(logits, b.labels, grad)));
}

TEST_CASE("train: a training job in its own thread leaves an executor's outputs bit for bit") {
    graph served(shape{3, 16, 16});
    served.add("c", conv2d_spec{.out_channels = 8, .kernel = 3, .stride = 2, .padding = 1});
    served.add("c.act", activation_spec{activation_kind::relu});
    served.add("dw", conv2d_spec{.out_channels = 8, .kernel = 3, .padding = 1, .groups = 8});
    served.add("gap", global_avg_pool_spec{});
    served.add("fc", dense_spec{.out_features = 4});
    served.bind_random(11);
    runtime::executor ex({.input = served.input_shape(), .stream_fps = 30, .threads = 1});
    ex.add_app("a", served, {.num_frozen = 2});
    const batch_data frames = make_batch(12, served.input_shape(), 12);
    const std::int64_t item = served.input_shape().numel();
    const auto serve = [&] {
        std::vector<float> out;
        for (std::int64_t f = 0; f < 12; ++f) {
            const tensor_view<const float> frame(
                frames.x.data() + f * item,
                dims{1, served.input_shape().c, served.input_shape().h, served.input_shape().w});
            const runtime::frame_result& r = ex.process(frame);
            for (const auto& a : r.apps) out.insert(out.end(), a.scores.begin(), a.scores.end());
        }
        return out;
    };
    const std::vector<float> solo = serve();
    REQUIRE(!solo.empty());

    std::atomic<bool> stop{false};
    std::atomic<int> steps{0};
    std::thread trainer([&] {
        train::network net(mixed_net(),
                           {.batch_norm = train::batch_norm_mode::batch_statistics, .threads = 1});
        train::sgd optimiser;
        const batch_data data = make_batch(8, net.model().input_shape(), 13);
        tensor<float> grad;
        while (!stop.load() || steps.load() < 2) {
            (void)train::softmax_cross_entropy(net.forward(data.x, true), data.labels, grad);
            net.backward(grad);
            optimiser.step(net, 0.01F);
            steps.fetch_add(1);
        }
    });
    while (steps.load() == 0) std::this_thread::yield();
    std::vector<float> beside;
    // At least 3 rounds of frames, and on until the trainer has run several steps meanwhile (at
    // most a minute: a loaded machine is slow, never wrong).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (int round = 0; round < 3 || (steps.load() < 6 && std::chrono::steady_clock::now() < give_up);
         ++round) {
        beside = serve();
        REQUIRE(beside == solo);
    }
    stop.store(true);
    trainer.join();
    MESSAGE("training steps run beside inference: " << steps.load());
    CHECK(steps.load() >= 6);
}
