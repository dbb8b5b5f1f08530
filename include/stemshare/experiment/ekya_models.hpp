#pragma once
/// \file
/// Ekya's two pretrained models (DESIGN.md section 7; docs/ekya.md), both trained once on the
/// Fashion-MNIST train-split items the cameras' frames never draw from ([golden_first_item, N)):
/// the cameras' retraining frames come from [0, golden_first_item), their scored frames from the
/// test split.
/// - The golden model, a larger network than the cameras' (`zoo::fashion_mobilenet_wide`), trained
///   with the drift schedule's perturbations as augmentation; it labels the frames the cameras
///   retrain on, so retraining never sees ground truth.
/// - The cameras' base (`zoo::fashion_mobilenet` on clean images): the common model every camera's
///   model is fine-tuned from (transfer learning), so the cameras share its frozen stem.
/// Link `stemshare::xtensor` (the perturbations).

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/drift_stream.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/io/bind_weights.hpp>
#include <stemshare/io/safetensors.hpp>
#include <stemshare/io/save_weights.hpp>
#include <stemshare/train/dataset.hpp>
#include <stemshare/train/evaluate.hpp>
#include <stemshare/train/fit.hpp>
#include <stemshare/train/initialise.hpp>
#include <stemshare/train/network.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>
#include <stemshare/zoo/fashion_mobilenet_wide.hpp>

namespace stemshare::experiment {

/// The "stemshare.model" metadata of a golden model's weight file.
inline constexpr std::string_view golden_model_id = "fashion_mobilenet_wide-ekya-golden";
/// The "stemshare.model" metadata of the cameras' base model's weight file.
inline constexpr std::string_view camera_base_id = "fashion_mobilenet-ekya-base";
/// Train-split items before this index are the cameras' source; the golden model trains on the rest.
inline constexpr std::int64_t golden_first_item = 10000;

/// How `train_golden` and `train_camera_base` train.
struct pretraining_options {
    int epochs = 4;
    std::int64_t batch_size = 64;
    float learning_rate = 0.1F;
    float weight_decay = 1e-4F;
    std::uint64_t seed = 7;
    /// Images perturbed alike: each chunk gets one random camera at one random point of its drift.
    std::int64_t chunk = 32;
    /// Passes of the cameras' base model (clean images) over the same items.
    int base_epochs = 2;
    bool progress = true;
};

struct pretraining_report {
    std::int64_t train_items = 0;
    std::vector<double> epoch_loss;
    double seconds = 0.0;
};

/// Perturbed copies of `images[items]` ({N, 1, h, w} in [0, 1]), in a seeded order: every `chunk`
/// consecutive copies are perturbed as one camera of `schedule` (picked at random) at one random
/// point of its drift, so the set covers the perturbations every camera meets over any number of
/// windows. Labels are kept. Same arguments, same bits.
[[nodiscard]] inline train::dataset augmented(const tensor<float>& images,
                                              std::span<const std::int32_t> labels,
                                              std::span<const std::int64_t> items,
                                              const drift_schedule& schedule, std::uint64_t seed,
                                              std::int64_t chunk) {
    require(!schedule.cameras.empty(), "golden model", "the drift schedule has no cameras");
    require(chunk > 0, "golden model", "chunk must be positive, got " + std::to_string(chunk));
    const dims& d = images.extents();
    require(d.rank() == 4 && d[1] == 1, "golden model", "images must be {N, 1, h, w}");
    require(static_cast<std::int64_t>(labels.size()) == d[0], "golden model", "one label per image");
    const auto n = static_cast<std::int64_t>(items.size());
    const auto order = train::seeded_permutation(n, seed);
    std::vector<std::int64_t> picked(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        picked[static_cast<std::size_t>(i)] =
            items[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])];
        require(picked[static_cast<std::size_t>(i)] >= 0 && picked[static_cast<std::size_t>(i)] < d[0],
                "golden model",
                "item " + std::to_string(picked[static_cast<std::size_t>(i)]) + " is outside the images");
    }
    train::dataset out = train::select(images, labels, picked);
    const auto h = static_cast<std::size_t>(d[2]), w = static_cast<std::size_t>(d[3]);
    std::mt19937_64 engine(seed * 0x9E3779B97F4A7C15ULL + 11u);
    std::uniform_int_distribution<std::size_t> pick_camera(0, schedule.cameras.size() - 1);
    std::uniform_real_distribution<double> pick_progress(0.0, 1.0);
    for (std::int64_t first = 0; first < n; first += chunk) {
        const auto count = static_cast<std::size_t>(std::min(chunk, n - first));
        xt::xtensor<float, 3> raw = xt::zeros<float>({count, h, w});
        float* const dst = out.inputs.data() + first * static_cast<std::int64_t>(h * w);
        std::copy_n(dst, count * h * w, raw.data());
        const drift_camera& cam = schedule.cameras[pick_camera(engine)];
        const xt::xtensor<float, 3> moved = perturb(raw, cam.at(pick_progress(engine)), engine);
        std::copy(moved.begin(), moved.end(), dst);
    }
    return out;
}

namespace detail {
/// Trains `g` (freshly initialised) on `data` with `o`'s recipe for `epochs` passes.
inline graph train_from_scratch(graph g, const train::dataset& data, const pretraining_options& o, int epochs,
                                const std::string& label, pretraining_report& report) {
    require(epochs > 0, "ekya models", label + ": epochs must be positive");
    train::initialise(g, o.seed);
    train::network net(std::move(g), {.batch_norm = train::batch_norm_mode::batch_statistics});
    train::fit_options fit;
    fit.epochs = epochs;
    fit.batch_size = o.batch_size;
    fit.seed = o.seed;
    fit.optimiser.learning_rate = o.learning_rate;
    fit.optimiser.weight_decay = o.weight_decay;
    if (o.progress) fit.progress_label = label;
    const train::fit_history h = train::fit(net, data, fit);
    report = {data.size(), h.epoch_loss, h.seconds};
    return net.model();
}

inline std::vector<std::int64_t> pretraining_items(const tensor<float>& images) {
    require(
        images.extents().rank() == 4 && images.extents()[0] > golden_first_item, "ekya models",
        "needs more than " + std::to_string(golden_first_item) + " training images (the cameras keep those)");
    std::vector<std::int64_t> items;
    for (std::int64_t i = golden_first_item; i < images.extents()[0]; ++i) items.push_back(i);
    return items;
}

inline void save_tagged(const graph& g, const std::filesystem::path& path, std::string_view id, int epochs,
                        std::uint64_t seed) {
    io::save_weights(g, path,
                     {{"stemshare.model", std::string(id)},
                      {"stemshare.epochs", std::to_string(epochs)},
                      {"stemshare.seed", std::to_string(seed)},
                      {"stemshare.first_item", std::to_string(golden_first_item)}});
}

/// `g` bound to the weights at `path`, whose "stemshare.model" metadata must be `id`.
inline graph load_tagged(graph g, const std::filesystem::path& path, std::string_view id,
                         std::string_view what) {
    if (!std::filesystem::exists(path))
        throw error(path.string(),
                    "no " + std::string(what) + " here; train one with `stemshare train ekya`");
    const io::safetensors_file file(path);
    const auto found = file.metadata().find("stemshare.model");
    if (found == file.metadata().end() || found->second != id)
        throw error(path.string(),
                    "not the " + std::string(what) + ": its \"stemshare.model\" metadata is '" +
                        (found == file.metadata().end() ? std::string("(none)") : found->second) +
                        "', expected '" + std::string(id) + "'");
    (void)io::bind_weights(g, file);
    return g;
}
}  // namespace detail

/// Trains `zoo::fashion_mobilenet_wide` from scratch on the train-split items from
/// `golden_first_item` on, each perturbed once as `augmented` does (offline augmentation: the same
/// perturbed copies every epoch), with a cosine learning rate.
[[nodiscard]] inline graph train_golden(const tensor<float>& images, std::span<const std::int32_t> labels,
                                        const drift_schedule& schedule, const pretraining_options& o,
                                        pretraining_report& report) {
    const std::vector<std::int64_t> items = detail::pretraining_items(images);
    return detail::train_from_scratch(zoo::fashion_mobilenet_wide.to_graph(),
                                      augmented(images, labels, items, schedule, o.seed + 1000u, o.chunk), o,
                                      o.epochs, "golden model", report);
}

/// Trains `zoo::fashion_mobilenet` from scratch on the same items, unperturbed, for
/// `o.base_epochs`: the base every camera's model is fine-tuned from.
[[nodiscard]] inline graph train_camera_base(const tensor<float>& images,
                                             std::span<const std::int32_t> labels,
                                             const pretraining_options& o, pretraining_report& report) {
    const std::vector<std::int64_t> items = detail::pretraining_items(images);
    return detail::train_from_scratch(zoo::fashion_mobilenet.to_graph(), train::select(images, labels, items),
                                      o, o.base_epochs, "cameras' base model", report);
}

/// Writes a golden model with its id (checked by `load_golden`) and how it was trained.
inline void save_golden(const graph& g, const std::filesystem::path& path, const pretraining_options& o) {
    detail::save_tagged(g, path, golden_model_id, o.epochs, o.seed);
}

/// Writes the cameras' base with its id (checked by `load_camera_base`) and how it was trained.
inline void save_camera_base(const graph& g, const std::filesystem::path& path,
                             const pretraining_options& o) {
    detail::save_tagged(g, path, camera_base_id, o.base_epochs, o.seed);
}

/// The golden model at `path`; a missing file, another model's weights or a wrong shape is an
/// error naming the file.
[[nodiscard]] inline graph load_golden(const std::filesystem::path& path) {
    return detail::load_tagged(zoo::fashion_mobilenet_wide.to_graph(), path, golden_model_id, "golden model");
}

/// The cameras' base model at `path`; errors as `load_golden`.
[[nodiscard]] inline graph load_camera_base(const std::filesystem::path& path) {
    return detail::load_tagged(zoo::fashion_mobilenet.to_graph(), path, camera_base_id,
                               "cameras' base model");
}

}  // namespace stemshare::experiment
