// `stemshare run`'s options and its planner: plans an app set within the budget on the cost model
// (scaled to the box's measured speed, runtime/speed_tracker.hpp) and deploys it on the executor
// in one swap; the plans it made, and the JSON lines the run writes from two threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/burst_fit.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/sched.hpp>

#include "frame_costs.hpp"
#include "run_apps.hpp"

namespace stemshare::tools::run_detail {

/// The flags of `stemshare run` (register_run_command).
struct options {
    std::string video;
    std::string apps_path = "models/run-apps.json";
    std::string select;
    double budget = 0.0;
    double fps = 0.0;
    bool fps_given = false;
    double box_share = 0.0;
    std::string planner = "greedy";
    std::string mode = "mainstream";
    std::string latencies_path;
    std::string control;
    std::string out = "-";
    std::int64_t max_frames = 0;
    int threads = 1;
    bool no_watch = false;
    bool burst_fit = false;
    double burst_margin = 0.0;
    double profile_gap_ms = -1.0;
    bool second_copy = false;
    frame_cost_options costs;
    double speed_window_s = 10.0;
    double speed_tolerance = 0.1;
};

struct planned_app {
    std::string name;
    std::size_t num_frozen = 0;
    double fps = 0.0;
    double f1 = 0.0;
};

/// One plan the run deployed.
struct plan_record {
    int index = 0;
    std::string reason;
    std::vector<planned_app> apps;
    double cost = 0.0;
    double mean_f1 = 0.0;
    std::uint64_t executor_version = 0;
    /// The box's speed the cost model was scaled by (runtime/speed_tracker.hpp).
    double speed = 1.0;
};

inline std::string num(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    return buf;
}

/// JSON lines from two threads, one line at a time.
class line_writer {
public:
    explicit line_writer(const std::string& path) {
        if (path != "-") {
            file_.open(path);
            if (!file_) throw error("--out", "cannot write '" + path + "'");
        }
    }
    void write(const std::string& line) {
        std::lock_guard lock(mutex_);
        std::ostream& o = file_.is_open() ? static_cast<std::ostream&>(file_) : std::cout;
        o << line << '\n';
    }
    void flush() {
        std::lock_guard lock(mutex_);
        (file_.is_open() ? static_cast<std::ostream&>(file_) : std::cout).flush();
    }

private:
    std::mutex mutex_;
    std::ofstream file_;
};

/// Plans an app set and deploys it on the executor in one swap. Used by the main thread before
/// the stream starts and by the control thread after.
class live_planner {
public:
    live_planner(const options& o, std::shared_ptr<const catalog> apps, std::vector<double> layer_seconds,
                 std::vector<double> second_copy, double step_seconds, double stream_fps, double box_share,
                 runtime::executor& ex, line_writer& out)
        : o_(o),
          box_share_(box_share),
          kind_(sched::parse_planner(o.planner)),
          mode_(sched::parse_mode(o.mode)),
          catalog_(std::move(apps)),
          layers_(std::move(layer_seconds)),
          second_copy_(std::move(second_copy)),
          step_seconds_(step_seconds),
          stream_fps_(stream_fps),
          ex_(ex),
          out_(out) {}

    /// Plans `names` and deploys the plan; throws `stemshare::error` (the running plan stays).
    void deploy(const std::vector<std::string>& names, const std::string& reason) {
        // Serialises changes; the stream thread never waits on it (records_mutex_ is held briefly).
        std::lock_guard lock(deploy_mutex_);
        const std::shared_ptr<const catalog> apps = this->apps();
        std::vector<sched::app_spec> specs;
        for (const auto& n : names) specs.push_back(apps->find(n).spec);
        plan_record rec;
        rec.reason = reason;
        rec.speed = speed_;
        std::vector<runtime::executor::app_edit> edits;
        std::vector<std::shared_ptr<const graph>> keep;
        std::map<std::string, planned_app> next;
        if (!specs.empty()) {
            const sched::problem p(specs, sched::cost_model(scaled(layers_)), stream_fps_, mode_);
            sched::require_feasible_budget(p, o_.budget);
            const sched::plan pl = plan(p);
            rec.cost = pl.cost;
            rec.mean_f1 = pl.mean_f1();
            for (std::size_t a = 0; a < pl.apps.size(); ++a) {
                const planned_app pa{names[a], static_cast<std::size_t>(pl.apps[a].num_frozen),
                                     pl.apps[a].fps, pl.apps[a].quality.f1};
                rec.apps.push_back(pa);
                next[pa.name] = pa;
            }
        }
        for (const auto& [name, old] : deployed_)
            if (next.find(name) == next.end()) edits.push_back({.name = name, .remove = true});
        for (const auto& [name, pa] : next) {
            const runtime::app_options opt{.num_frozen = pa.num_frozen, .fps = pa.fps};
            const auto it = deployed_.find(name);
            if (it != deployed_.end() && it->second.num_frozen == pa.num_frozen) {
                if (it->second.fps != pa.fps) edits.push_back({.name = name, .options = opt});
                continue;
            }
            keep.push_back(apps->model(name, pa.num_frozen));
            edits.push_back({.name = name, .model = keep.back().get(), .options = opt});
        }
        if (!edits.empty()) ex_.apply(edits);
        deployed_ = std::move(next);
        {
            std::lock_guard records(records_mutex_);
            rec.executor_version = ex_.plan_version();
            rec.index = static_cast<int>(records_.size()) + 1;
            names_ = names;
            records_.push_back(rec);
            plans_made_.store(records_.size());
        }
        out_.write(plan_json(rec));
        out_.flush();
    }

    /// Re-plans the deployed apps on the cost model scaled by `speed` (executor / model time,
    /// runtime::speed_tracker), on the control thread like every other change. Throws
    /// `stemshare::error` as `deploy` does: the running plan stays, and later plans use the new speed.
    void rescale(double speed) {
        {
            std::lock_guard lock(deploy_mutex_);
            speed_ = speed;
        }
        deploy(names(), "box speed " + num(speed) + "x the cost model");
    }

    /// Re-reads the apps file; the app set becomes the file's (or --select's names in it).
    void reload() {
        auto fresh = std::make_shared<const catalog>(catalog::load(apps()->path()));
        std::lock_guard lock(records_mutex_);
        catalog_ = std::move(fresh);
    }

    [[nodiscard]] std::vector<std::string> names() const {
        std::lock_guard lock(records_mutex_);
        return names_;
    }
    [[nodiscard]] std::shared_ptr<const catalog> apps() const {
        std::lock_guard lock(records_mutex_);
        return catalog_;
    }
    /// The plan deployed as executor plan `version`. A swap is published inside `apply`, just
    /// before its record is stored: the stream thread may see the version first and waits for it.
    [[nodiscard]] plan_record record_for(std::uint64_t version) const {
        for (;;) {
            {
                std::lock_guard lock(records_mutex_);
                for (auto it = records_.rbegin(); it != records_.rend(); ++it)
                    if (it->executor_version == version) return *it;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
    }
    /// Plans deployed so far. A re-plan that changes no app leaves the executor's plan version as
    /// it was; this count still moves, so the stream thread picks up the new record.
    [[nodiscard]] std::size_t plans_made() const noexcept { return plans_made_.load(); }
    [[nodiscard]] std::vector<plan_record> records() const {
        std::lock_guard lock(records_mutex_);
        return records_;
    }
    [[nodiscard]] const std::vector<double>& layer_seconds() const noexcept { return layers_; }

    static std::string plan_json(const plan_record& r) {
        std::string s = "{\"event\":\"plan\",\"plan\":" + std::to_string(r.index) +
                        ",\"reason\":" + nlohmann::json(r.reason).dump() + ",\"speed\":" + num(r.speed) +
                        ",\"cost\":" + num(r.cost) + ",\"mean_f1\":" + num(r.mean_f1) + ",\"apps\":[";
        for (std::size_t i = 0; i < r.apps.size(); ++i)
            s += std::string(i ? "," : "") + "{\"name\":" + nlohmann::json(r.apps[i].name).dump() +
                 ",\"num_frozen\":" + std::to_string(r.apps[i].num_frozen) +
                 ",\"fps\":" + num(r.apps[i].fps) + ",\"f1\":" + num(r.apps[i].f1) + "}";
        return s + "]}";
    }

private:
    [[nodiscard]] std::vector<double> scaled(const std::vector<double>& seconds) const {
        std::vector<double> out(seconds);
        for (double& x : out) x *= speed_;
        return out;
    }

    /// The planner's plan, or with --burst-fit one whose frames fit the box one by one
    /// (experiment/burst_fit.hpp, `burst_plan`; refused when none does).
    [[nodiscard]] sched::plan plan(const sched::problem& p) const {
        if (!o_.burst_fit) return sched::run_planner(kind_, p, o_.budget, sched::objective::mean);
        const experiment::burst_fit_result fit =
            experiment::burst_plan(p, kind_, o_.budget, scaled(layers_),
                                   {.margin = o_.burst_margin,
                                    .box_share = box_share_,
                                    .second_copy_seconds = scaled(second_copy_),
                                    .step_seconds = step_seconds_ * speed_});
        if (!fit.fits)
            throw error("--burst-fit",
                        "no plan of these apps fits the box frame by frame: the last one tried (at " +
                            std::to_string(fit.fitted_budget) + " core-seconds per second) drops " +
                            std::to_string(fit.dropped_frames) + " frames of a period");
        return fit.plan;
    }

    const options& o_;
    double box_share_;
    sched::planner_kind kind_;
    sched::mode mode_;
    std::mutex deploy_mutex_;
    mutable std::mutex records_mutex_;  // guards catalog_, names_, records_
    std::shared_ptr<const catalog> catalog_;
    std::vector<double> layers_;
    std::vector<double> second_copy_;
    double step_seconds_;
    double speed_ = 1.0;  // guarded by deploy_mutex_
    double stream_fps_;
    runtime::executor& ex_;
    line_writer& out_;
    std::map<std::string, planned_app> deployed_;
    std::vector<std::string> names_;
    std::vector<plan_record> records_;
    std::atomic<std::size_t> plans_made_{0};
};

}  // namespace stemshare::tools::run_detail
