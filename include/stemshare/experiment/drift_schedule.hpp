#pragma once
/// \file
/// Ekya's drifting cameras, as a small editable JSON file: per camera a class mix and image
/// perturbations at the first and the last window, interpolated linearly in between.
///
/// {"frames_per_window": 300,
///  "cameras": [{"name": "gate",
///               "classes_start": [10 weights], "classes_end": [10 weights],
///               "start": {"brightness": 0, "contrast": 1, "noise": 0, "shift": 0, "blur": 0, "rotation": 0},
///               "end":   {"brightness": -0.25, "contrast": 0.6, "noise": 0.08, "shift": 2, "blur": 0.5,
///                         "rotation": 12}}]}
///
/// Missing perturbation keys take the neutral value shown in "start"; unknown keys are refused.

#include <array>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>

namespace stemshare::experiment {

/// Image perturbations of one window; every frame of a camera's window gets the same ones (the
/// camera's light and angle), noise aside, which is drawn per pixel.
struct perturbation {
    double brightness = 0.0;  ///< added to every pixel (pixels are in [0, 1])
    double contrast = 1.0;    ///< scale of each image around its own mean, > 0
    double noise = 0.0;       ///< standard deviation of added Gaussian noise, >= 0
    double shift = 0.0;       ///< translation in pixels (right by `shift`, down by half of it)
    double blur = 0.0;        ///< mix with a 3 x 3 box blur, in [0, 1]
    double rotation = 0.0;    ///< degrees, counter-clockwise about the centre
};

/// One camera's drift from its first window to its last.
struct drift_camera {
    std::string name;
    std::array<double, 10> classes_start{};  ///< relative class frequencies, >= 0, not all 0
    std::array<double, 10> classes_end{};
    perturbation start;
    perturbation end;

    /// The perturbation at `progress` in [0, 1] (0 = first window, 1 = last).
    [[nodiscard]] perturbation at(double progress) const noexcept {
        const auto mix = [&](double a, double b) { return a + (b - a) * progress; };
        return {mix(start.brightness, end.brightness),
                mix(start.contrast, end.contrast),
                mix(start.noise, end.noise),
                mix(start.shift, end.shift),
                mix(start.blur, end.blur),
                mix(start.rotation, end.rotation)};
    }
    /// The class mix at `progress`.
    [[nodiscard]] std::array<double, 10> classes_at(double progress) const noexcept {
        std::array<double, 10> out{};
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = classes_start[i] + (classes_end[i] - classes_start[i]) * progress;
        return out;
    }
};

/// The whole schedule. Camera i of an experiment with more cameras than entries uses entry
/// i % cameras.size() with its own seed.
struct drift_schedule {
    int frames_per_window = 300;
    std::vector<drift_camera> cameras;
};

namespace detail {

inline perturbation parse_perturbation(const nlohmann::json& j, const std::string& where) {
    perturbation p;
    require(j.is_object(), where, "must be an object");
    for (const auto& [key, value] : j.items()) {
        require(value.is_number(), where + "." + key, "must be a number");
        const double v = value.get<double>();
        require(std::isfinite(v), where + "." + key, "must be finite");
        if (key == "brightness")
            p.brightness = v;
        else if (key == "contrast")
            p.contrast = v;
        else if (key == "noise")
            p.noise = v;
        else if (key == "shift")
            p.shift = v;
        else if (key == "blur")
            p.blur = v;
        else if (key == "rotation")
            p.rotation = v;
        else
            throw error(where + "." + key,
                        "unknown perturbation (brightness, contrast, noise, shift, blur, rotation)");
    }
    require(p.contrast > 0, where + ".contrast", "must be positive");
    require(p.noise >= 0, where + ".noise", "must be >= 0");
    require(p.blur >= 0 && p.blur <= 1, where + ".blur", "must be in [0, 1]");
    require(std::abs(p.shift) <= 10, where + ".shift", "must be within 10 pixels");
    return p;
}

inline std::array<double, 10> parse_classes(const nlohmann::json& j, const std::string& where) {
    require(j.is_array() && j.size() == 10, where, "must be an array of 10 class weights");
    std::array<double, 10> out{};
    double sum = 0;
    for (std::size_t i = 0; i < 10; ++i) {
        require(j[i].is_number(), where, "weight " + std::to_string(i) + " must be a number");
        out[i] = j[i].get<double>();
        require(std::isfinite(out[i]) && out[i] >= 0, where, "weight " + std::to_string(i) + " must be >= 0");
        sum += out[i];
    }
    require(sum > 0, where, "weights must not all be 0");
    return out;
}

}  // namespace detail

/// Parses a schedule; errors name `source` and the field.
[[nodiscard]] inline drift_schedule parse_drift_schedule(const nlohmann::json& j, const std::string& source) {
    drift_schedule s;
    require(j.is_object(), source, "a drift schedule must be a JSON object");
    if (j.contains("frames_per_window")) {
        require(j["frames_per_window"].is_number_integer() && j["frames_per_window"].get<int>() > 0,
                source + ": frames_per_window", "must be a positive integer");
        s.frames_per_window = j["frames_per_window"].get<int>();
    }
    require(j.contains("cameras") && j["cameras"].is_array() && !j["cameras"].empty(), source + ": cameras",
            "must be a non-empty array");
    for (std::size_t i = 0; i < j["cameras"].size(); ++i) {
        const nlohmann::json& c = j["cameras"][i];
        const std::string where = source + ": cameras[" + std::to_string(i) + "]";
        require(c.is_object(), where, "must be an object");
        drift_camera cam;
        cam.name = c.value("name", "camera" + std::to_string(i));
        require(c.contains("classes_start"), where, "classes_start is missing");
        cam.classes_start = detail::parse_classes(c["classes_start"], where + ".classes_start");
        cam.classes_end = c.contains("classes_end")
                              ? detail::parse_classes(c["classes_end"], where + ".classes_end")
                              : cam.classes_start;
        if (c.contains("start")) cam.start = detail::parse_perturbation(c["start"], where + ".start");
        if (c.contains("end")) cam.end = detail::parse_perturbation(c["end"], where + ".end");
        s.cameras.push_back(cam);
    }
    return s;
}

/// Reads a schedule file; errors name the file and the field.
[[nodiscard]] inline drift_schedule load_drift_schedule(const std::filesystem::path& path) {
    std::ifstream in(path);
    require(in.good(), path.string(), "cannot open the drift schedule");
    nlohmann::json j;
    try {
        in >> j;
    } catch (const nlohmann::json::exception& e) {
        throw error(path.string(), std::string("not valid JSON: ") + e.what());
    }
    return parse_drift_schedule(j, path.string());
}

}  // namespace stemshare::experiment
