#pragma once
/// \file
/// Loader for app files in the layout of the public Mainstream scheduler's apps file (a copy is
/// tests/data/sched/mainstream-apps.json): `stream_fps`,
/// `model.layer_latencies`, and `apps[]` with `name`, `event_length_ms`, `event_frequency`,
/// `correlation_coefficient`, optional `weight`, and `curve[]` of `num_frozen`, `accuracy`,
/// `p_identified_inv`. In `io` (not `sched`) so the planners stay free of nlohmann_json.
///
/// Keys and fields: `correlation_coefficient` -> `app_spec::correlation`; in a curve point,
/// `accuracy` -> `curve_point::true_positive_rate` and `p_identified_inv` ->
/// `curve_point::false_positive_rate` (Mainstream's names, see curve.hpp); every other key is the
/// field's name.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/io/json_file.hpp>
#include <stemshare/sched/app.hpp>
#include <stemshare/sched/curve.hpp>

namespace stemshare::io {

/// The contents of an app file.
struct apps_file {
    double stream_fps = 0.0;              ///< frame rate of the stream
    std::vector<double> layer_latencies;  ///< per-layer latency of the base model
    std::vector<sched::app_spec> apps;    ///< apps in file order, raw (unsmoothed) curves
};

namespace detail {

[[nodiscard]] inline const nlohmann::json& field(const nlohmann::json& obj, const char* key,
                                                 const std::string& where) {
    if (!obj.is_object()) throw error(where, "must be a JSON object");
    const auto it = obj.find(key);
    if (it == obj.end()) throw error(where, std::string("missing field '") + key + "'");
    return *it;
}

[[nodiscard]] inline double number(const nlohmann::json& obj, const char* key, const std::string& where) {
    const nlohmann::json& v = field(obj, key, where);
    if (!v.is_number()) throw error(where + "." + key, "must be a number");
    return v.get<double>();
}

[[nodiscard]] inline int integer(const nlohmann::json& obj, const char* key, const std::string& where) {
    const nlohmann::json& v = field(obj, key, where);
    if (!v.is_number_integer()) throw error(where + "." + key, "must be an integer");
    const auto wide = v.get<std::int64_t>();  // get<int> would wrap 4294967296 to 0
    if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max())
        throw error(where + "." + key, "is out of range: " + std::to_string(wide));
    return static_cast<int>(wide);
}

}  // namespace detail

/// Reads an app file already parsed as JSON. `source` names it in errors. Throws
/// `stemshare::error` naming the file, the app and the field on a missing or mistyped field.
[[nodiscard]] inline apps_file parse_apps_file(const nlohmann::json& doc, const std::string& source) {
    apps_file out;
    out.stream_fps = detail::number(doc, "stream_fps", source);
    const nlohmann::json& model = detail::field(doc, "model", source);
    const nlohmann::json& lat = detail::field(model, "layer_latencies", source + ": model");
    if (!lat.is_array()) throw error(source + ": model.layer_latencies", "must be an array of numbers");
    for (std::size_t l = 0; l < lat.size(); ++l) {
        if (!lat[l].is_number())
            throw error(source + ": model.layer_latencies[" + std::to_string(l) + "]", "must be a number");
        out.layer_latencies.push_back(lat[l].get<double>());
    }
    const nlohmann::json& apps = detail::field(doc, "apps", source);
    if (!apps.is_array()) throw error(source + ": apps", "must be an array");
    for (std::size_t i = 0; i < apps.size(); ++i) {
        std::string where = source + ": apps[" + std::to_string(i) + "]";
        const nlohmann::json& a = apps[i];
        sched::app_spec app;
        const nlohmann::json& name = detail::field(a, "name", where);
        if (!name.is_string()) throw error(where + ".name", "must be a string");
        app.name = name.get<std::string>();
        where += " ('" + app.name + "')";
        app.event_length_ms = detail::number(a, "event_length_ms", where);
        app.event_frequency = detail::number(a, "event_frequency", where);
        app.correlation = detail::number(a, "correlation_coefficient", where);
        if (a.contains("weight")) app.weight = detail::number(a, "weight", where);
        const nlohmann::json& curve = detail::field(a, "curve", where);
        if (!curve.is_array()) throw error(where + ".curve", "must be an array");
        for (std::size_t c = 0; c < curve.size(); ++c) {
            const std::string at = where + ".curve[" + std::to_string(c) + "]";
            sched::curve_point p;
            p.num_frozen = detail::integer(curve[c], "num_frozen", at);
            p.true_positive_rate = detail::number(curve[c], "accuracy", at);
            p.false_positive_rate = detail::number(curve[c], "p_identified_inv", at);
            app.curve.push_back(p);
        }
        out.apps.push_back(std::move(app));
    }
    return out;
}

/// Loads an app file. Throws `stemshare::error` if it cannot be read or parsed.
[[nodiscard]] inline apps_file load_apps_file(const std::filesystem::path& path) {
    return parse_apps_file(read_json_file(path, "the app file"), path.string());
}

/// The apps named in `names` (comma-separated), in that order; a name may repeat. Throws
/// `stemshare::error` for an empty list or a name not in `apps`.
[[nodiscard]] inline std::vector<sched::app_spec> select_apps(const std::vector<sched::app_spec>& apps,
                                                              std::string_view names) {
    std::vector<sched::app_spec> out;
    std::size_t start = 0;
    while (start <= names.size()) {
        const std::size_t comma = std::min(names.find(',', start), names.size());
        const std::string_view name = names.substr(start, comma - start);
        bool found = false;
        for (const sched::app_spec& a : apps) {
            if (a.name == name) {
                out.push_back(a);
                found = true;
                break;
            }
        }
        if (!found) {
            std::string known;
            for (const sched::app_spec& a : apps) known += (known.empty() ? "" : ", ") + a.name;
            throw error("--select", "unknown app name '" + std::string(name) + "' (known: " + known + ")");
        }
        start = comma + 1;
    }
    return out;
}

}  // namespace stemshare::io
