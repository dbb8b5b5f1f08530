#pragma once
/// \file
/// The experiment's training recipes on Fashion-MNIST: the base model (the zoo's 28 x 28 net on
/// the five base classes) and each app's M-Package (the base fine-tuned at every branch point).
///
/// Data use: train-split items [0, 50000) train, items [50000, 60000) validate (per-frame
/// true-positive and false-positive rates), and the test split is left to the streams, so no
/// stream frame was ever seen in training or validation.
///
/// The demo's recipes, not the installed library's: they live beside the `stemshare` tool.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/io/bind_weights.hpp>
#include <stemshare/io/half.hpp>
#include <stemshare/io/idx.hpp>
#include <stemshare/io/mpackage.hpp>
#include <stemshare/io/safetensors.hpp>
#include <stemshare/io/save_weights.hpp>
#include <stemshare/train/dataset.hpp>
#include <stemshare/train/evaluate.hpp>
#include <stemshare/train/fine_tune.hpp>
#include <stemshare/train/fit.hpp>
#include <stemshare/train/initialise.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>

#include <fashion/app_tasks.hpp>

namespace stemshare::fashion {

/// Train-split items before this index train; the rest validate.
inline constexpr std::int64_t validation_start = 50000;
/// The base model's id in M-Packages.
inline constexpr std::string_view base_model_id = "fashion_mobilenet-base5";

struct base_training_options {
    int epochs = 4;
    std::int64_t batch_size = 64;
    float learning_rate = 0.1F;
    float weight_decay = 1e-4F;
    std::uint64_t seed = 1;
    /// Use at most this many training images (0: all of the base classes' ~25 000).
    std::int64_t max_items = 0;
    bool progress = true;
};

struct base_training_report {
    std::int64_t train_items = 0;
    std::int64_t validation_items = 0;
    std::vector<double> epoch_loss;
    double seconds = 0.0;
    /// Accuracy on the validation images of the base classes.
    double validation_accuracy = 0.0;
};

namespace detail {
inline std::vector<std::int32_t> labels_of(const io::labelled_images& d) {
    return {d.labels.begin(), d.labels.end()};
}
inline bool is_base_class(std::int32_t label) {
    return std::find(base_classes.begin(), base_classes.end(), label) != base_classes.end();
}
}  // namespace detail

/// Trains the zoo's fashion_mobilenet from scratch on the base classes (labels kept as 0..9, so
/// the weights bind to the unchanged zoo graph; the five unused outputs simply learn to lose).
/// Batch-norm layers use batch statistics while training, as PyTorch's train() does.
[[nodiscard]] inline graph train_base_model(const io::labelled_images& train_split,
                                            const base_training_options& o, base_training_report& report) {
    const std::vector<std::int32_t> labels = detail::labels_of(train_split);
    const std::int64_t end = std::min<std::int64_t>(validation_start, train_split.size());
    std::vector<std::int64_t> train_items;
    std::vector<std::int64_t> validation_items;
    for (std::int64_t i = 0; i < train_split.size(); ++i)
        if (detail::is_base_class(labels[static_cast<std::size_t>(i)]))
            (i < end ? train_items : validation_items).push_back(i);
    if (o.max_items > 0 && static_cast<std::int64_t>(train_items.size()) > o.max_items) {
        const auto order =
            train::seeded_permutation(static_cast<std::int64_t>(train_items.size()), o.seed + 17);
        std::vector<std::int64_t> chosen;
        for (std::int64_t i = 0; i < o.max_items; ++i)
            chosen.push_back(train_items[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])]);
        std::sort(chosen.begin(), chosen.end());
        train_items = std::move(chosen);
    }
    const train::dataset data = train::select(train_split.images, labels, train_items);
    report.train_items = data.size();
    report.validation_items = static_cast<std::int64_t>(validation_items.size());

    graph g = zoo::fashion_mobilenet.to_graph();
    train::initialise(g, o.seed);
    train::network net(std::move(g), {.batch_norm = train::batch_norm_mode::batch_statistics});
    train::fit_options fit;
    fit.epochs = o.epochs;
    fit.batch_size = o.batch_size;
    fit.seed = o.seed;
    fit.optimiser.learning_rate = o.learning_rate;
    fit.optimiser.weight_decay = o.weight_decay;
    if (o.progress) fit.progress_label = "base model";
    const train::fit_history h = train::fit(net, data, fit);
    report.epoch_loss = h.epoch_loss;
    report.seconds = h.seconds;
    graph trained = net.model();
    if (!validation_items.empty()) {
        const train::dataset validation = train::select(train_split.images, labels, validation_items);
        report.validation_accuracy =
            train::accuracy(train::predict(trained, validation.inputs), validation.labels);
    }
    return trained;
}

/// Writes a graph's weights as safetensors (`io::save_weights`).
inline void save_weights(const graph& g, const std::filesystem::path& path,
                         const std::map<std::string, std::string>& metadata = {}) {
    io::save_weights(g, path, metadata);
}

/// The base model: the zoo graph bound to `path` (written by `save_weights`).
[[nodiscard]] inline graph load_base_model(const std::filesystem::path& path) {
    if (!std::filesystem::exists(path))
        throw error(path.string(),
                    "no base model here; train one with `stemshare train base --out " + path.string() + "`");
    graph g = zoo::fashion_mobilenet.to_graph();
    const io::safetensors_file file(path);
    (void)io::bind_weights(g, file);
    return g;
}

struct app_training_options {
    int epochs = 2;
    std::int64_t batch_size = 64;
    float learning_rate = 0.05F;
    /// Training positives per app (sampled from the target classes); as many negatives are
    /// sampled from all other classes, so every candidate trains on a balanced set.
    std::int64_t positives = 2000;
    std::uint64_t seed = 1;
    /// Candidates' num_frozen; empty: every branch point of the base except its full length and
    /// except those that would train the same parameters as the next one (see `candidate_points`).
    std::vector<std::size_t> branch_points;
    /// Element type of the stored suffixes. f16 halves the packages; each candidate's weights are
    /// rounded to it before its rates are measured, so the manifest describes what a reader runs.
    io::storage_dtype suffix_storage = io::storage_dtype::f16;
    bool progress = true;
};

/// The default candidates of a model: its branch points k < size, leaving out a k whose layers up
/// to the next branch point have no parameters (e.g. k = 39 before a global pooling: it trains
/// exactly what k = 40 trains, and k = 40 shares more).
[[nodiscard]] inline std::vector<std::size_t> candidate_points(const graph& g) {
    const std::vector<std::size_t> all = g.branch_points();
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const std::size_t k = all[i];
        if (k >= g.size()) continue;
        const std::size_t next = i + 1 < all.size() ? std::min(all[i + 1], g.size()) : g.size();
        bool trains = false;
        for (std::size_t l = k; l < next && !trains; ++l) trains = g.at(l).param_descs().size() > 0;
        if (trains) out.push_back(k);
    }
    return out;
}

/// Rounds the parameters of layers [first, end) to `storage` in place (a no-op for f32).
inline void round_weights(graph& g, std::size_t first, io::storage_dtype storage) {
    if (storage == io::storage_dtype::f32) return;
    for (std::size_t l = first; l < g.size(); ++l)
        for (auto& t : g.at(l).params)
            for (float& v : t.values())
                v = storage == io::storage_dtype::f16 ? io::f16_to_f32(io::f32_to_f16(v))
                                                      : static_cast<float>(bf16(v));
}

struct candidate_report {
    std::size_t num_frozen = 0;
    train::detector_rates rates;
    double stem_seconds = 0.0;
    double train_seconds = 0.0;
};

struct app_report {
    std::string name;
    std::vector<candidate_report> candidates;
};

/// The starting point of every app: the base with a fresh two-way classifier (output 1 = the
/// target is present). Its seed is fixed, so every app's package records the same base digest.
[[nodiscard]] inline graph app_start_model(const graph& base) {
    return train::with_new_classifier(base, 2, 0x5EED);
}

/// The graph of every app (the zoo net with a two-way classifier), for `io::mpackage::base_model`
/// and `candidate_model` to bind; its own weights are placeholders the package's replace.
[[nodiscard]] inline graph app_architecture() {
    graph g = zoo::fashion_mobilenet.to_graph();
    g.bind_random(0);
    return app_start_model(g);
}

/// Fine-tunes `base` for `app` at every requested branch point, measures each candidate on the
/// validation images and writes the app's M-Package to `folder`.
inline app_report train_app(const graph& base, const app_task& app, const io::labelled_images& train_split,
                            const app_training_options& o, const std::filesystem::path& folder) {
    const std::vector<std::int32_t> labels = detail::labels_of(train_split);
    const std::int64_t end = std::min<std::int64_t>(validation_start, train_split.size());
    std::vector<std::int64_t> positives;
    std::vector<std::int64_t> negatives;
    for (std::int64_t i = 0; i < end; ++i)
        (app.is_target(labels[static_cast<std::size_t>(i)]) ? positives : negatives).push_back(i);
    const std::int64_t n = std::min<std::int64_t>({o.positives, static_cast<std::int64_t>(positives.size()),
                                                   static_cast<std::int64_t>(negatives.size())});
    if (n < o.batch_size) throw error("app '" + std::string(app.name) + "'", "too few training images");
    std::vector<std::int64_t> items;
    const auto pick = [&](const std::vector<std::int64_t>& from, std::uint64_t salt) {
        const auto order =
            train::seeded_permutation(static_cast<std::int64_t>(from.size()), o.seed * 7919 + salt);
        for (std::int64_t i = 0; i < n; ++i)
            items.push_back(from[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])]);
    };
    pick(positives, 1);
    pick(negatives, 2);
    std::vector<std::int32_t> binary(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) binary[i] = app.is_target(labels[i]) ? 1 : 0;
    const train::dataset data = train::select(train_split.images, binary, items);
    std::vector<std::int64_t> validation_items;
    for (std::int64_t i = end; i < train_split.size(); ++i) validation_items.push_back(i);
    const train::dataset validation = train::select(train_split.images, binary, validation_items);

    const graph start = app_start_model(base);
    const std::vector<std::size_t> points =
        o.branch_points.empty() ? candidate_points(start) : o.branch_points;

    app_report report{std::string(app.name), {}};
    std::vector<graph> models;
    models.reserve(points.size());
    for (std::size_t k : points) {
        train::fine_tune_options ft;
        ft.num_frozen = k;
        ft.fit.epochs = o.epochs;
        ft.fit.batch_size = o.batch_size;
        ft.fit.seed = o.seed + k;
        ft.fit.optimiser.learning_rate = o.learning_rate;
        if (o.progress) ft.fit.progress_label = std::string(app.name) + " k=" + std::to_string(k);
        train::fine_tune_result r = train::fine_tune(start, data, ft);
        round_weights(r.model, k, o.suffix_storage);
        candidate_report c;
        c.num_frozen = k;
        c.rates = train::rates(train::predict(r.model, validation.inputs), validation.labels);
        c.stem_seconds = r.stem_seconds;
        c.train_seconds = r.history.seconds;
        report.candidates.push_back(c);
        models.push_back(std::move(r.model));
    }
    std::vector<io::mpackage_candidate_model> candidates;
    for (std::size_t i = 0; i < models.size(); ++i)
        candidates.push_back({points[i], report.candidates[i].rates.true_positive_rate,
                              report.candidates[i].rates.false_positive_rate, &models[i]});
    (void)io::write_mpackage(folder, std::string(app.name), std::string(base_model_id), "fashion_mobilenet",
                             start, candidates, o.suffix_storage);
    return report;
}

}  // namespace stemshare::fashion
