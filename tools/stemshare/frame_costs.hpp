// The latency table `stemshare demo` and `stemshare run` plan with when they measure it
// themselves: sparse profiling of the base model and, unless turned off, the frame cost model
// fitted to live executor frames (include/stemshare/experiment/frame_calibration.hpp).
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/frame_calibration.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/profiling/profile.hpp>

namespace stemshare::tools {

struct frame_cost_options {
    int threads = 1;
    std::size_t runs = 40;
    /// Idle gap before every profiling run.
    double profile_gap_ms = 0.0;
    /// Profile second copies even without a fit (a fit always does).
    bool second_copy = false;
    /// `--frame-calibration-gap-ms` and `--no-frame-calibration`.
    double calibration_gap_ms = 250.0;
    bool calibrate = true;
    std::size_t calibration_frames = 15;
};

struct frame_costs {
    /// With a fit, already scaled by it (`frame_calibration::apply`).
    profiling::latency_table table;
    std::optional<experiment::frame_calibration> fit;
    [[nodiscard]] double step_seconds() const { return fit ? fit->step_seconds : 0.0; }
};

/// The two flags of the fit, with the same words in every command.
inline void add_frame_calibration_flags(CLI::App* sub, frame_cost_options& o) {
    sub->add_option("--frame-calibration-gap-ms", o.calibration_gap_ms,
                    "Idle gap before every frame of the frame-cost fit (live executor frames the latency "
                    "table is fitted to)")
        ->capture_default_str();
    sub->add_flag(
        "--no-frame-calibration", [&o](std::int64_t) { o.calibrate = false; },
        "Plan and charge frames on the latency table alone (no fit to live frames, no per-step cost)");
}

/// Throws `stemshare::error` naming the flag for a bad gap: commands call it before any work.
inline void check_frame_cost_flags(const frame_cost_options& o) {
    if (!(o.calibration_gap_ms >= 0.0) || o.calibration_gap_ms > 60'000.0)
        throw error("--frame-calibration-gap-ms",
                    "must be in [0, 60000], got " + std::to_string(o.calibration_gap_ms));
}

/// Profiles `base` as `model` and fits the frame cost model to it. Throws `stemshare::error` naming
/// the flag for a bad gap.
[[nodiscard]] inline frame_costs measure_frame_costs(const graph& base, const std::string& model,
                                                     const frame_cost_options& o) {
    check_frame_cost_flags(o);
    frame_costs out;
    out.table =
        profiling::profile(base, model,
                           {.threads = o.threads,
                            .runs = o.runs,
                            .warmup = 5,
                            .gap_us = static_cast<std::int64_t>(std::llround(o.profile_gap_ms * 1000.0)),
                            .second_copy = o.second_copy || o.calibrate});
    if (o.calibrate) {
        out.fit = experiment::calibrate_frames(base, out.table,
                                               {.threads = o.threads,
                                                .gap_seconds = o.calibration_gap_ms / 1000.0,
                                                .frames = o.calibration_frames});
        out.fit->apply(out.table);
    }
    return out;
}

/// The fit as JSON (null without one).
[[nodiscard]] inline nlohmann::ordered_json frame_calibration_json(
    const std::optional<experiment::frame_calibration>& fit) {
    if (!fit) return nullptr;
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (const auto& p : fit->points)
        points.push_back({{"num_frozen", p.num_frozen},
                          {"apps", p.apps},
                          {"steps", p.table.steps},
                          {"table_first_us", p.table.first_seconds * 1e6},
                          {"table_further_us", p.table.further_seconds * 1e6},
                          {"table_entry_further_us", p.table.entry_further_seconds * 1e6},
                          {"live_median_us", p.measured_seconds * 1e6},
                          {"fitted_us", p.predicted_seconds * 1e6}});
    return {{"gap_ms", fit->gap_seconds * 1e3},
            {"first_scale", fit->first_scale},
            {"further_scale", fit->further_scale},
            {"entry_further_scale", fit->entry_further_scale},
            {"entry_layers", fit->entry_layers},
            {"step_us", fit->step_seconds * 1e6},
            {"worst_fit_error", fit->worst_fit_error()},
            {"round_speed", fit->round_speed},
            {"configurations", points}};
}

/// One line to `where`: the fit and how well it fits its own configurations.
inline void print_frame_calibration(const experiment::frame_calibration& fit, std::FILE* where = stdout) {
    std::fprintf(where,
                 "frame cost model, fitted to live executor frames after %.0f ms idle (%zu configurations): "
                 "%.2f x table first run + %.2f x second copy (%.2f x in the first %zu layers) + %.1f us per "
                 "step; worst configuration off by %.1f%%; the box's speed varied %.2fx across the rounds\n",
                 fit.gap_seconds * 1e3, fit.points.size(), fit.first_scale, fit.further_scale,
                 fit.entry_further_scale, fit.entry_layers, fit.step_seconds * 1e6,
                 100.0 * fit.worst_fit_error(), fit.speed_range());
}

}  // namespace stemshare::tools
