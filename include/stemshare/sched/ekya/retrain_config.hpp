#pragma once
/// \file
/// A retraining configuration (docs/ekya.md): which layers are trained, how much of the
/// labelled data is used, how many epochs, and whether earlier windows' frames are added.

#include <cstddef>
#include <string>
#include <vector>

namespace stemshare::sched::ekya {

/// One retraining configuration. `train_from` is the branch point k: layers k.. are trained and the
/// prefix (the stem) stays frozen, so 0 trains every layer and the last layer's index trains the
/// head only.
struct retrain_config {
    std::size_t train_from = 0;  ///< first trained layer (0 = all layers)
    double subsample = 1.0;      ///< fraction of the window's labelled frames used, in (0, 1]
    int epochs = 5;              ///< epochs over that subsample
    /// Train on the frames of every earlier window, not only the last one (Ekya's history).
    bool history = false;

    friend bool operator==(const retrain_config&, const retrain_config&) = default;
};

/// Short name used in reports, e.g. "k2/s0.5/e15", "k2/s1/e5/h" with history.
[[nodiscard]] inline std::string to_string(const retrain_config& c) {
    std::string s = "k" + std::to_string(c.train_from) + "/s";
    std::string sub = std::to_string(c.subsample);
    while (sub.size() > 1 && sub.back() == '0') sub.pop_back();
    if (!sub.empty() && sub.back() == '.') sub.pop_back();
    return s + sub + "/e" + std::to_string(c.epochs) + (c.history ? "/h" : "");
}

/// Ekya's grid mapped onto a model: the given branch points (e.g. {head, all}) x subsample
/// {0.1, 0.5, 1} x epochs {5, 15, 30}.
[[nodiscard]] inline std::vector<retrain_config> ekya_grid(const std::vector<std::size_t>& branch_points) {
    std::vector<retrain_config> grid;
    for (std::size_t k : branch_points)
        for (double s : {0.1, 0.5, 1.0})
            for (int e : {5, 15, 30}) grid.push_back({k, s, e});
    return grid;
}

}  // namespace stemshare::sched::ekya
