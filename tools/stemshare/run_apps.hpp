#pragma once
// The apps file of `stemshare run`: which apps can be deployed, where their M-Packages are, and
// what the planner needs to know about their events. Layout (models/run-apps.json is the default):
//
//   {"format": "stemshare.run-apps",
//    "apps": [{"name": "sneaker", "mpackage": "apps/sneaker", "event_length_ms": 1000,
//              "event_frequency": 0.1, "correlation_coefficient": 0.5, "weight": 1}, ...]}
//
// `mpackage` is relative to the file's folder; each app's accuracy curve comes from its package's
// candidates (true- and false-positive rate per branch point), `weight` is optional.

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/io/apps_file.hpp>
#include <stemshare/io/mpackage.hpp>
#include <stemshare/sched/app.hpp>

#include <fashion/training.hpp>

namespace stemshare::tools::run_detail {

struct catalog_app {
    sched::app_spec spec;
    std::shared_ptr<const io::mpackage> package;
};

/// The apps a run may deploy, read from one apps file.
class catalog {
public:
    /// Reads `path` and every M-Package it names. Throws `stemshare::error` naming the file, the
    /// app and the field.
    static catalog load(const std::filesystem::path& path) {
        std::ifstream in(path);
        if (!in) throw error(path.string(), "cannot open the apps file");
        nlohmann::json doc;
        try {
            doc = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            throw error(path.string(), std::string("not valid JSON: ") + e.what());
        }
        const std::string source = path.string();
        const nlohmann::json& format = io::detail::field(doc, "format", source);
        if (format != "stemshare.run-apps")
            throw error(source + ": format", "must be \"stemshare.run-apps\", got " + format.dump());
        const nlohmann::json& apps = io::detail::field(doc, "apps", source);
        if (!apps.is_array() || apps.empty()) throw error(source + ": apps", "must be a non-empty array");
        catalog out;
        out.path_ = path;
        for (std::size_t i = 0; i < apps.size(); ++i) {
            std::string where = source + ": apps[" + std::to_string(i) + "]";
            const nlohmann::json& a = apps[i];
            const nlohmann::json& name = io::detail::field(a, "name", where);
            if (!name.is_string() || name.get<std::string>().empty())
                throw error(where + ".name", "must be a non-empty string");
            catalog_app app;
            app.spec.name = name.get<std::string>();
            where += " ('" + app.spec.name + "')";
            for (const auto& known : out.apps_)
                if (known.spec.name == app.spec.name) throw error(where + ".name", "names an app twice");
            app.spec.event_length_ms = io::detail::number(a, "event_length_ms", where);
            app.spec.event_frequency = io::detail::number(a, "event_frequency", where);
            app.spec.correlation = io::detail::number(a, "correlation_coefficient", where);
            if (a.contains("weight")) app.spec.weight = io::detail::number(a, "weight", where);
            const nlohmann::json& folder = io::detail::field(a, "mpackage", where);
            if (!folder.is_string()) throw error(where + ".mpackage", "must be a folder name");
            std::filesystem::path dir(folder.get<std::string>());
            if (dir.is_relative()) dir = path.parent_path() / dir;
            app.package = std::make_shared<const io::mpackage>(io::mpackage::read(dir));
            if (app.package->manifest().architecture != "fashion_mobilenet")
                throw error(where + ".mpackage", "architecture '" + app.package->manifest().architecture +
                                                     "' is not one `stemshare run` can build (fashion_mobilenet)");
            for (const auto& c : app.package->manifest().candidates)
                app.spec.curve.push_back(
                    {static_cast<int>(c.num_frozen), c.true_positive_rate, c.false_positive_rate});
            out.apps_.push_back(std::move(app));
        }
        return out;
    }

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] const std::vector<catalog_app>& apps() const noexcept { return apps_; }

    [[nodiscard]] const catalog_app& find(const std::string& name) const {
        std::string known;
        for (const auto& a : apps_) {
            if (a.spec.name == name) return a;
            known += (known.empty() ? "" : ", ") + a.spec.name;
        }
        throw error(path_.string(), "has no app '" + name + "' (apps: " + known + ")");
    }

    /// App `name`'s bound model with `num_frozen` frozen layers (built once, then shared).
    [[nodiscard]] std::shared_ptr<const graph> model(const std::string& name, std::size_t num_frozen) const {
        std::lock_guard lock(*models_mutex_);
        const auto key = std::make_pair(name, num_frozen);
        if (const auto it = models_->find(key); it != models_->end()) return it->second;
        const io::mpackage& package = *find(name).package;
        const auto& candidates = package.manifest().candidates;
        for (std::size_t c = 0; c < candidates.size(); ++c)
            if (candidates[c].num_frozen == num_frozen) {
                auto g = std::make_shared<const graph>(package.candidate_model(c, fashion::app_architecture()));
                models_->emplace(key, g);
                return g;
            }
        throw error("app '" + name + "'", "has no candidate with num_frozen " + std::to_string(num_frozen));
    }

private:
    std::filesystem::path path_;
    std::vector<catalog_app> apps_;
    std::shared_ptr<std::mutex> models_mutex_ = std::make_shared<std::mutex>();
    std::shared_ptr<std::map<std::pair<std::string, std::size_t>, std::shared_ptr<const graph>>> models_ =
        std::make_shared<std::map<std::pair<std::string, std::size_t>, std::shared_ptr<const graph>>>();
};

}  // namespace stemshare::tools::run_detail
