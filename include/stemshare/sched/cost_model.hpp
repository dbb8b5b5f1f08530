#pragma once
/// \file
/// The Mainstream cost model: compute per second of stream for a set of apps that share stems.

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>

namespace stemshare::sched {

/// One app's place in a plan, as far as cost is concerned.
struct cost_entry {
    int num_frozen = 0;  ///< k: layers 0..k-1 come from the shared stem
    double fps = 0.0;    ///< frames per second the app analyses
};

/// Per-layer latencies of the base model and the cost of plans built on it. Layer l costs
/// latency(l) x (sum of fps of apps with k <= l, each running its own copy, + max fps of apps with
/// k > l, which share one copy). Latencies may be relative (the shipped table) or seconds per
/// frame (then cost is compute-seconds per second of stream).
class cost_model {
public:
    /// Throws `stemshare::error` if `layer_latencies` is empty or holds a negative or non-finite value.
    constexpr explicit cost_model(std::vector<double> layer_latencies)
        : latencies_(std::move(layer_latencies)) {
        if (latencies_.empty()) throw error("layer_latencies", "the latency table is empty");
        for (std::size_t l = 0; l < latencies_.size(); ++l) {
            if (!(latencies_[l] >= 0.0) || latencies_[l] > 1e300)
                throw error("layer_latencies",
                            "latency of layer " + std::to_string(l) + " must be finite and >= 0");
        }
        // Summed left to right from k, as the original's sum(latencies[k:]) does, so suffix costs
        // and the original greedy's ranking agree to the last bit.
        suffix_.resize(latencies_.size() + 1, 0.0);
        for (std::size_t k = 0; k < latencies_.size(); ++k)
            suffix_[k] = segment_latency(k, latencies_.size());
    }

    /// Number of layers of the base model.
    [[nodiscard]] constexpr std::size_t num_layers() const noexcept { return latencies_.size(); }

    /// The latency table.
    [[nodiscard]] constexpr const std::vector<double>& latencies() const noexcept { return latencies_; }

    /// Latency of layers [from, to), summed left to right.
    [[nodiscard]] constexpr double segment_latency(std::size_t from, std::size_t to) const noexcept {
        double sum = 0.0;
        for (std::size_t l = from; l < to && l < latencies_.size(); ++l) sum += latencies_[l];
        return sum;
    }

    /// Latency of the layers an app at branch point k runs by itself: layers k..end.
    [[nodiscard]] constexpr double suffix_latency(int k) const noexcept {
        return suffix_[static_cast<std::size_t>(std::clamp<int>(k, 0, static_cast<int>(latencies_.size())))];
    }

    /// Latency of the stem below branch point k: layers 0..k-1.
    [[nodiscard]] constexpr double prefix_latency(int k) const noexcept {
        return segment_latency(0, static_cast<std::size_t>(std::max(k, 0)));
    }

    /// Cost of an app's own layers at `fps`: suffix_latency(k) x fps.
    [[nodiscard]] constexpr double suffix_cost(int k, double fps) const noexcept {
        return suffix_latency(k) * fps;
    }

    /// Cost of a whole plan. Segments between consecutive distinct branch points are summed once
    /// and charged at (sum of fps of apps that branched below the segment's end + max fps of the
    /// apps still sharing it); apps at the same k share only the stem below k.
    [[nodiscard]] constexpr double plan_cost(const std::vector<cost_entry>& entries) const {
        std::vector<int> ends;
        ends.reserve(entries.size() + 1);
        for (const cost_entry& e : entries) ends.push_back(e.num_frozen);
        std::sort(ends.begin(), ends.end());
        ends.erase(std::unique(ends.begin(), ends.end()), ends.end());
        ends.push_back(static_cast<int>(latencies_.size()));
        double cost = 0.0;
        int start = 0;
        for (int end : ends) {
            const double seg =
                segment_latency(static_cast<std::size_t>(start), static_cast<std::size_t>(end));
            double own = 0.0;
            double shared = 0.0;
            bool any_shared = false;
            for (const cost_entry& e : entries) {
                if (e.num_frozen < end) {
                    own += e.fps;
                } else {
                    shared = any_shared ? std::max(shared, e.fps) : e.fps;
                    any_shared = true;
                }
            }
            cost += seg * (own + shared);
            start = end;
        }
        return cost;
    }

private:
    std::vector<double> latencies_;
    std::vector<double> suffix_;
};

}  // namespace stemshare::sched
