// Any graph the inference path runs can be fine-tuned from its branch points: suffixes of the zoo's
// ImageNet models (residual adds, concats, the squeeze-and-excitation blocks of MobileNetV3 and
// EfficientNet-B0) and of an ONNX-imported residual + concat net train, and the eval-mode forward
// of each suffix matches the reference backend.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include <stemshare/backend/reference/executor.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/train/fine_tune.hpp>
#include <stemshare/train/initialise.hpp>
#include <stemshare/train/loss.hpp>
#include <stemshare/train/network.hpp>
#include <stemshare/train/sgd.hpp>
#include <stemshare/zoo/zoo.hpp>
#ifdef STEMSHARE_TEST_ONNX
#include <stemshare/io/onnx_import.hpp>
#endif

using namespace stemshare;

namespace {

// Trains `g` (bound) for `steps` SGD steps on one fixed batch; returns the first and last loss.
std::pair<double, double> train_on_one_batch(graph g, std::int64_t batch, int steps, float lr) {
    train::network net(std::move(g), {.threads = 1});
    const shape in = net.model().input_shape();
    tensor<float> x(dims{batch, in.c, in.h, in.w});
    fill_uniform(x.values(), 5, 0.0F, 1.0F);
    const std::int64_t classes = net.model().output_shape().numel();
    std::vector<std::int32_t> labels;
    for (std::int64_t i = 0; i < batch; ++i)
        labels.push_back(static_cast<std::int32_t>((i * 7 + 3) % classes));
    train::sgd optimiser({.learning_rate = lr, .momentum = 0.9F, .weight_decay = 0.0F});
    tensor<float> grad;
    double first = 0.0;
    double last = 0.0;
    for (int s = 0; s < steps; ++s) {
        last = train::softmax_cross_entropy(net.forward(x, true), labels, grad);
        if (s == 0) first = last;
        REQUIRE(std::isfinite(last));
        net.backward(grad);
        optimiser.step(net, lr);
    }
    last = train::softmax_cross_entropy(net.forward(x, true), labels, grad);
    return {first, last};
}

void check_eval_forward(const graph& g, std::int64_t batch) {
    train::network net(g, {.threads = 1});
    const shape in = g.input_shape();
    tensor<float> x(dims{batch, in.c, in.h, in.w});
    fill_uniform(x.values(), 6, -1.0F, 1.0F);
    const tensor<float> ours = net.forward(x, false);
    const tensor<float> ref = reference::run(g, x.view());
    REQUIRE(ours.extents() == ref.extents());
    double scale = 1e-6;
    double worst = 0.0;
    for (std::int64_t i = 0; i < ref.numel(); ++i)
        scale = std::max(scale, static_cast<double>(std::abs(ref[i])));
    for (std::int64_t i = 0; i < ref.numel(); ++i)
        worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - ref[i]) / scale);
    CHECK(worst < 1e-4);
}

}  // namespace

TEST_CASE(
    "train: late suffixes of the zoo's MobileNetV2, ResNet-50 and InceptionV3 train and match the "
    "reference") {
    struct pick {
        const char* model;
        std::size_t first_layer;
    };
    // Branch points near the end keep the test quick; the kernels are the same at every depth.
    for (const pick p : {pick{"mobilenet_v2", 129}, pick{"mobilenet_v2", 146}, pick{"resnet50", 162},
                         pick{"inception_v3", 279}}) {
        CAPTURE(std::string(p.model));
        CAPTURE(p.first_layer);
        const graph full = zoo::make_graph(p.model);
        REQUIRE(full.is_cut_point(p.first_layer));
        graph suffix = full.slice(p.first_layer, full.size());
        train::initialise(suffix, 3);
        check_eval_forward(suffix, 2);
        const auto [first, last] = train_on_one_batch(suffix, 2, 4, 0.002F);
        MESSAGE(std::string(p.model) << " from layer " << p.first_layer << ": loss " << first << " -> "
                                     << last);
        CHECK(last < first);
    }
}

TEST_CASE(
    "training: late suffixes of the zoo's MobileNetV3 and EfficientNet-B0 (squeeze-and-excitation, "
    "hard-swish, SiLU) train and match the reference") {
    struct pick {
        const char* model;
        std::size_t first_layer;
    };
    // MobileNetV3-Small: two residual blocks with squeeze-and-excitation, then the hard-swish head;
    // -Large: from the pool of a squeeze-and-excitation (the suffix's input gated by its own
    // pool); EfficientNet-B0: a residual SiLU block with its gate, the last block and the head.
    for (const pick p :
         {pick{"mobilenet_v3_small", 118}, pick{"mobilenet_v3_large", 140}, pick{"efficientnet_b0", 204}}) {
        CAPTURE(std::string(p.model));
        CAPTURE(p.first_layer);
        const graph full = zoo::make_graph(p.model);
        REQUIRE(full.is_cut_point(p.first_layer));
        graph suffix = full.slice(p.first_layer, full.size());
        bool gated = false;
        for (const node& n : suffix.nodes()) gated = gated || std::holds_alternative<multiply_spec>(n.spec);
        REQUIRE(gated);
        train::initialise(suffix, 3);
        check_eval_forward(suffix, 2);
        const auto [first, last] = train_on_one_batch(suffix, 2, 4, 0.002F);
        MESSAGE(std::string(p.model) << " from layer " << p.first_layer << ": loss " << first << " -> "
                                     << last);
        CHECK(std::isfinite(last));
        CHECK(last < first);
    }
}

#ifdef STEMSHARE_TEST_ONNX
TEST_CASE("train: an ONNX-imported residual + concat net fine-tunes from every cut point") {
    const graph g = io::load_onnx(std::filesystem::path(STEMSHARE_FIXTURES_DIR) / "resnet_stack.onnx");
    REQUIRE(g.is_bound());
    const shape in = g.input_shape();
    train::dataset data{tensor<float>(dims{8, in.c, in.h, in.w}), {}};
    fill_uniform(data.inputs.values(), 8, -1.0F, 1.0F);
    for (std::int32_t i = 0; i < 8; ++i) data.labels.push_back(i % 3);
    int tuned = 0;
    for (std::size_t k = 0; k < g.size(); ++k) {
        if (!g.is_cut_point(k)) continue;
        bool has_params = false;
        for (std::size_t i = k; i < g.size(); ++i) has_params = has_params || !g.at(i).params.empty();
        if (!has_params) continue;
        CAPTURE(k);
        train::fine_tune_options o;
        o.num_frozen = k;
        o.fit.epochs = 2;
        o.fit.batch_size = 4;
        o.fit.optimiser.learning_rate = 0.01F;
        o.network.threads = 1;
        const auto r = train::fine_tune(g, data, o);
        REQUIRE(r.history.epoch_loss.size() == 2);
        CHECK(std::isfinite(r.history.epoch_loss.back()));
        for (std::size_t i = 0; i < k; ++i)
            for (std::size_t j = 0; j < g.at(i).params.size(); ++j)
                REQUIRE(r.model.at(i).params[j].values()[0] == g.at(i).params[j].values()[0]);
        ++tuned;
    }
    MESSAGE("cut points fine-tuned: " << tuned);
    CHECK(tuned >= 3);
}
#endif
