#pragma once
// `stemshare train base` and `stemshare train apps`: the experiment's M-Trainer (docs/experiment.md).

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/io/idx.hpp>

#ifdef STEMSHARE_WITH_EKYA_COMMAND
#include <stemshare/experiment/drift_schedule.hpp>
#include <stemshare/experiment/ekya_models.hpp>
#endif

#include <fashion/app_tasks.hpp>
#include <fashion/dataset.hpp>
#include <fashion/training.hpp>

#include "write_file.hpp"

namespace stemshare::tools {

namespace train_detail {

struct base_options {
    std::string out = "models/fashion_base.safetensors";
    std::string data = std::string(fashion::default_data_dir);
    fashion::base_training_options training{};
};

struct apps_options {
    std::string base = "models/fashion_base.safetensors";
    std::string out = "models/apps";
    std::string data = std::string(fashion::default_data_dir);
    std::string apps;
    std::vector<std::size_t> branch_points;
    fashion::app_training_options training{};
};

#ifdef STEMSHARE_WITH_EKYA_COMMAND
struct ekya_options {
    std::string golden_out = "models/ekya_golden.safetensors";
    std::string base_out = "models/ekya_base.safetensors";
    std::string data = std::string(fashion::default_data_dir);
    std::string drift = STEMSHARE_EKYA_DEFAULT_DRIFT;
    experiment::pretraining_options training{};
};

/// `stemshare train ekya`: Ekya's golden model and the cameras' base (experiment/ekya_models.hpp),
/// each with its accuracy on the test split, clean and perturbed as the schedule's cameras.
inline void run_ekya_models(const ekya_options& o) {
    const io::labelled_images train_split = fashion::load_dataset(fashion::dataset_split::train, o.data);
    const io::labelled_images test_split = fashion::load_dataset(fashion::dataset_split::test, o.data);
    const experiment::drift_schedule schedule = experiment::load_drift_schedule(o.drift);
    const std::vector<std::int32_t> labels(train_split.labels.begin(), train_split.labels.end());
    const std::vector<std::int32_t> test_labels(test_split.labels.begin(), test_split.labels.end());
    std::vector<std::int64_t> all(test_labels.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::int64_t>(i);
    const train::dataset perturbed = experiment::augmented(test_split.images, test_labels, all, schedule,
                                                           o.training.seed + 99u, o.training.chunk);
    const auto summary = [&](const char* what, const graph& model, const experiment::pretraining_report& r,
                             const std::string& path) {
        std::printf("%s: %lld training images, %zu epochs, %.1f s, epoch losses", what,
                    static_cast<long long>(r.train_items), r.epoch_loss.size(), r.seconds);
        for (double l : r.epoch_loss) std::printf(" %.4f", l);
        std::printf(
            "\n  test split accuracy: clean %.4f, perturbed as the schedule's cameras %.4f; wrote %s\n",
            train::accuracy(train::predict(model, test_split.images), test_labels),
            train::accuracy(train::predict(model, perturbed.inputs), perturbed.labels), path.c_str());
    };
    experiment::pretraining_report report;
    const graph golden = experiment::train_golden(train_split.images, labels, schedule, o.training, report);
    experiment::save_golden(golden, o.golden_out, o.training);
    summary("golden model (fashion_mobilenet_wide, perturbed images)", golden, report, o.golden_out);
    const graph base = experiment::train_camera_base(train_split.images, labels, o.training, report);
    experiment::save_camera_base(base, o.base_out, o.training);
    summary("cameras' base (fashion_mobilenet, clean images)", base, report, o.base_out);
}
#endif

inline std::vector<fashion::app_task> chosen_apps(const std::string& list) {
    if (list.empty()) return fashion::all_apps();
    std::vector<fashion::app_task> out;
    std::stringstream in(list);
    for (std::string name; std::getline(in, name, ',');)
        if (!name.empty()) out.push_back(fashion::find_app(name));
    return out;
}

inline void run_base(const base_options& o) {
    const io::labelled_images train_split = fashion::load_dataset(fashion::dataset_split::train, o.data);
    fashion::base_training_report report;
    const graph model = fashion::train_base_model(train_split, o.training, report);
    fashion::save_weights(model, o.out,
                          {{"stemshare.model", std::string(fashion::base_model_id)},
                           {"stemshare.epochs", std::to_string(o.training.epochs)},
                           {"stemshare.seed", std::to_string(o.training.seed)}});
    std::printf("base model: %lld training images, %d epochs, %.1f s, epoch losses",
                static_cast<long long>(report.train_items), o.training.epochs, report.seconds);
    for (double l : report.epoch_loss) std::printf(" %.4f", l);
    std::printf("\nvalidation accuracy on the base classes: %.4f (%lld images)\nwrote %s\n",
                report.validation_accuracy, static_cast<long long>(report.validation_items), o.out.c_str());
}

inline void run_apps(apps_options o) {
    const io::labelled_images train_split = fashion::load_dataset(fashion::dataset_split::train, o.data);
    const graph base = fashion::load_base_model(o.base);
    o.training.branch_points = o.branch_points;
    nlohmann::ordered_json summary = nlohmann::ordered_json::array();
    for (const auto& app : chosen_apps(o.apps)) {
        const auto report = fashion::train_app(base, app, train_split, o.training,
                                               std::filesystem::path(o.out) / std::string(app.name));
        nlohmann::ordered_json j{{"app", report.name}, {"candidates", nlohmann::ordered_json::array()}};
        double seconds = 0.0;
        for (const auto& c : report.candidates) {
            j["candidates"].push_back({{"num_frozen", c.num_frozen},
                                       {"true_positive_rate", c.rates.true_positive_rate},
                                       {"false_positive_rate", c.rates.false_positive_rate},
                                       {"stem_seconds", c.stem_seconds},
                                       {"train_seconds", c.train_seconds}});
            seconds += c.stem_seconds + c.train_seconds;
            std::printf("%-12s k=%2zu  TPR %.4f  FPR %.4f  (%.1f s)\n", report.name.c_str(), c.num_frozen,
                        c.rates.true_positive_rate, c.rates.false_positive_rate,
                        c.stem_seconds + c.train_seconds);
        }
        j["seconds"] = seconds;
        summary.push_back(j);
        std::fflush(stdout);
    }
    const auto path = std::filesystem::path(o.out) / "training-summary.json";
    write_file(path.string(), summary.dump(2) + "\n");
    std::printf("wrote M-Packages and %s\n", path.string().c_str());
}

}  // namespace train_detail

/// Registers `stemshare train base|apps`.
inline void register_train_command(CLI::App& app) {
    CLI::App* sub = app.add_subcommand("train", "Train the experiment's base model or its apps' M-Packages");
    sub->require_subcommand(1);

    auto b = std::make_shared<train_detail::base_options>();
    CLI::App* base =
        sub->add_subcommand("base", "Train fashion_mobilenet from scratch on the five base classes");
    base->add_option("--out", b->out, "Weights file to write (safetensors)")->capture_default_str();
    base->add_option("--data", b->data, "Fashion-MNIST folder (Debian: dataset-fashion-mnist)")
        ->capture_default_str();
    base->add_option("--epochs", b->training.epochs, "Passes over the data")->capture_default_str();
    base->add_option("--batch", b->training.batch_size, "Images per SGD step")->capture_default_str();
    base->add_option("--lr", b->training.learning_rate, "Initial learning rate (cosine schedule)")
        ->capture_default_str();
    base->add_option("--seed", b->training.seed, "Seed of the initial weights and the data order")
        ->capture_default_str();
    base->add_option("--max-items", b->training.max_items, "Train on at most this many images (0: all)")
        ->capture_default_str();
    base->add_flag("!--no-progress", b->training.progress, "No progress bar");
    base->callback([b] { train_detail::run_base(*b); });

    auto a = std::make_shared<train_detail::apps_options>();
    CLI::App* apps =
        sub->add_subcommand("apps", "Fine-tune every app at every branch point; write M-Packages");
    apps->add_option("--base", a->base, "Base model weights (from `stemshare train base`)")
        ->capture_default_str();
    apps->add_option("--out", a->out, "Folder for the M-Packages (one sub-folder per app)")
        ->capture_default_str();
    apps->add_option("--data", a->data, "Fashion-MNIST folder")->capture_default_str();
    apps->add_option("--apps", a->apps, "Comma-separated app names (default: all ten)");
    apps->add_option("--branch-points", a->branch_points,
                     "num_frozen values to train (default: all but the last)")
        ->delimiter(',');
    apps->add_option("--epochs", a->training.epochs, "Passes over each app's data")->capture_default_str();
    apps->add_option("--positives", a->training.positives, "Training positives per app (as many negatives)")
        ->capture_default_str();
    apps->add_option("--lr", a->training.learning_rate, "Initial learning rate (cosine schedule)")
        ->capture_default_str();
    apps->add_option("--seed", a->training.seed, "Seed of the data choice and order")->capture_default_str();
    apps->add_flag("!--no-progress", a->training.progress, "No progress bars");
    apps->callback([a] { train_detail::run_apps(*a); });

#ifdef STEMSHARE_WITH_EKYA_COMMAND
    auto e = std::make_shared<train_detail::ekya_options>();
    CLI::App* ekya = sub->add_subcommand(
        "ekya", "Train `stemshare ekya`'s golden model and its cameras' base model (docs/ekya.md)");
    ekya->add_option("--golden-out", e->golden_out, "Golden model's weights file to write")
        ->capture_default_str();
    ekya->add_option("--base-out", e->base_out, "Cameras' base model's weights file to write")
        ->capture_default_str();
    ekya->add_option("--data", e->data, "Fashion-MNIST folder")->capture_default_str();
    ekya->add_option("--drift", e->drift,
                     "Drift schedule whose perturbations augment the golden model's data")
        ->capture_default_str();
    ekya->add_option("--epochs", e->training.epochs, "Golden model's passes over the data")
        ->capture_default_str();
    ekya->add_option("--base-epochs", e->training.base_epochs, "Base model's passes over the data")
        ->capture_default_str();
    ekya->add_option("--lr", e->training.learning_rate, "Initial learning rate (cosine schedule)")
        ->capture_default_str();
    ekya->add_option("--seed", e->training.seed, "Seed of the weights, the augmentation and the order")
        ->capture_default_str();
    ekya->add_flag("!--no-progress", e->training.progress, "No progress bars");
    ekya->callback([e] { train_detail::run_ekya_models(*e); });
#endif
}

}  // namespace stemshare::tools
