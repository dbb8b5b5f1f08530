#pragma once
// `stemshare run`: the apps of an apps file on a real video, live. Decodes the video
// (stemshare::video), plans the apps with a Mainstream planner within the budget, and runs the
// runtime's executor paced at the video's frame rate (its timestamps) or --fps; frames that
// arrive while the box is busy are dropped and counted, as in the demo's real-time runner
// (experiment/realtime.hpp: the box is `--box-share` of this core, the budget by default, so a
// plan within the budget fits the box when the latency table is right).
//
// Apps join and leave live: when the apps file changes (its mtime, checked every 50 ms) the app
// set becomes the file's; lines on `--control` (a FIFO, a file that grows, or - for stdin) say
// `add NAME` or `remove NAME`, optionally after `at FRAME ` to wait until the stream reaches that
// frame. Each change re-plans on a control thread, compiles there, and hands the executor the
// new plan in one swap (`executor::apply`): the stream never stops.
//
// Output (--out, default stdout), one JSON object a line:
//   {"event":"plan", ...}   each plan: index, reason, apps (num_frozen, fps, predicted f1), cost
//   {"frame":F,"t":T,"app":A,"score":S,"positive":B,"plan":P}   each app decision
//   {"event":"error", ...}  a change that could not be applied (the running plan stays)
//   {"event":"replan_refused", ...}  the box's new speed leaves no plan within the budget (the
//                           running plan stays): frame, speed, error
//   {"summary":{...}}       last: achieved fps per app, drops, per-frame cost, frames per plan
// A short human summary goes to stderr.

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/experiment/sweep.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/profiling/profile.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/runtime/speed_tracker.hpp>
#include <stemshare/sched.hpp>
#include <stemshare/video/video_source.hpp>

#include <fashion/training.hpp>

#include "frame_costs.hpp"
#include "run_apps.hpp"
#include "run_planner.hpp"

namespace stemshare::tools {

namespace run_detail {

using steady = std::chrono::steady_clock;

/// What the stream thread counted under one plan.
struct plan_counts {
    std::int64_t arrived = 0;
    std::int64_t processed = 0;
    std::int64_t dropped = 0;
    std::int64_t first_frame = -1;
    std::int64_t last_frame = -1;
};

struct app_counts {
    std::int64_t decisions = 0;
    std::int64_t positives = 0;
    std::int64_t dropped = 0;  ///< frames its rate selects that arrived while the box was busy
    std::int64_t frames_deployed = 0;
    /// Decisions its plans asked for: its rate / the stream's, summed over the frames deployed
    /// (plans at other rates count for the frames they ran).
    double planned_decisions = 0.0;
};

/// Reads control lines and watches the apps file on its own thread; every change re-plans.
class controller {
public:
    controller(const options& o, live_planner& planner, runtime::executor& ex, line_writer& out)
        : o_(o), planner_(planner), ex_(ex), out_(out) {
        if (!o.control.empty()) {
            fd_ = o.control == "-" ? 0 : ::open(o.control.c_str(), O_RDONLY | O_NONBLOCK);
            if (fd_ < 0) throw error("--control", "cannot open '" + o.control + "'");
        }
        mtime_ = modified(planner.apps()->path());
        thread_ = std::thread([this] { loop(); });
    }
    controller(const controller&) = delete;
    controller& operator=(const controller&) = delete;
    ~controller() { stop(); }

    /// Asks for a re-plan at the box's measured `speed` (runtime::speed_tracker). Called by the
    /// stream thread, which must not wait: the re-plan (and any compile it needs) runs here.
    void request_speed(double speed) { speed_request_.store(speed); }
    /// Speed re-plans refused so far (no plan within the budget at the new speed).
    [[nodiscard]] std::size_t refused() const noexcept { return refused_.load(); }

    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        if (fd_ > 0) ::close(fd_);
        fd_ = -1;
    }

private:
    struct command {
        std::int64_t at = -1;
        std::string verb;
        std::string app;
        std::string text;
    };

    static std::filesystem::file_time_type modified(const std::filesystem::path& p) {
        std::error_code ec;
        const auto t = std::filesystem::last_write_time(p, ec);
        return ec ? std::filesystem::file_time_type{} : t;
    }

    void report(const std::string& what) {
        out_.write("{\"event\":\"error\",\"frame\":" + std::to_string(ex_.frames()) +
                   ",\"what\":" + nlohmann::json(what).dump() + "}");
        out_.flush();
        std::fprintf(stderr, "stemshare run: %s\n", what.c_str());
    }

    void read_lines() {
        if (fd_ < 0) return;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0 || (p.revents & POLLIN) == 0) return;
        char buf[4096];
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n <= 0) return;
        partial_.append(buf, static_cast<std::size_t>(n));
        for (std::size_t nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n')) {
            const std::string line = partial_.substr(0, nl);
            partial_.erase(0, nl + 1);
            std::istringstream in(line);
            command c;
            c.text = line;
            std::string word;
            if (!(in >> word)) continue;
            if (word == "at") {
                if (!(in >> c.at) || c.at < 0) {
                    report("control: '" + line + "': 'at' needs a frame number");
                    continue;
                }
                in >> word;
            }
            c.verb = word;
            if ((c.verb != "add" && c.verb != "remove") || !(in >> c.app)) {
                report("control: '" + line + "': expected [at FRAME] add|remove APP");
                continue;
            }
            pending_.push_back(c);
        }
    }

    void loop() {
        while (!stop_) {
            try {
                if (const double speed = speed_request_.exchange(0.0); speed > 0.0) {
                    try {
                        planner_.rescale(speed);
                    } catch (const error& e) {
                        // An impossible budget at the new speed: the running plan stays.
                        refused_.fetch_add(1);
                        out_.write(nlohmann::ordered_json{
                            {"event", "replan_refused"},
                            {"frame", ex_.frames()},
                            {"speed", speed},
                            {"error",
                             e.what()}}.dump());
                        out_.flush();
                    }
                }
                read_lines();
                if (!o_.no_watch) {
                    const auto t = modified(planner_.apps()->path());
                    if (t != mtime_) {
                        mtime_ = t;
                        planner_.reload();
                        std::vector<std::string> names;
                        for (const auto& a : planner_.apps()->apps()) names.push_back(a.spec.name);
                        planner_.deploy(names, "apps file changed");
                    }
                }
                const auto now = static_cast<std::int64_t>(ex_.frames());
                for (auto it = pending_.begin(); it != pending_.end();) {
                    if (it->at > now) {
                        ++it;
                        continue;
                    }
                    const command c = *it;
                    it = pending_.erase(it);
                    std::vector<std::string> names = planner_.names();
                    const bool present = std::find(names.begin(), names.end(), c.app) != names.end();
                    if (c.verb == "add") {
                        if (present) {
                            report("control: '" + c.text + "': app '" + c.app + "' is already deployed");
                            continue;
                        }
                        names.push_back(c.app);
                    } else {
                        if (!present) {
                            report("control: '" + c.text + "': app '" + c.app + "' is not deployed");
                            continue;
                        }
                        names.erase(std::find(names.begin(), names.end(), c.app));
                    }
                    try {
                        planner_.deploy(names, "control: " + c.verb + " " + c.app);
                    } catch (const std::exception& e) {
                        report("control: '" + c.text + "': " + e.what());
                    }
                }
            } catch (const std::exception& e) {
                report(e.what());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }

    const options& o_;
    live_planner& planner_;
    runtime::executor& ex_;
    line_writer& out_;
    int fd_ = -1;
    std::string partial_;
    std::vector<command> pending_;
    std::filesystem::file_time_type mtime_;
    std::atomic<bool> stop_{false};
    std::atomic<double> speed_request_{0.0};  // 0: none pending
    std::atomic<std::size_t> refused_{0};
    std::thread thread_;
};

/// The model's probability of class 1 ("positive"): its scores when they already are
/// probabilities, else their softmax (a model that ends in logits).
inline double positive_probability(std::span<const float> scores) {
    if (scores.size() < 2) return scores.empty() ? 0.0 : static_cast<double>(scores[0]);
    double sum = 0.0;
    bool probabilities = true;
    for (float x : scores) {
        sum += static_cast<double>(x);
        probabilities = probabilities && x >= 0.0F && x <= 1.0F;
    }
    if (probabilities && std::abs(sum - 1.0) < 1e-4) return static_cast<double>(scores[1]);
    const float top = *std::max_element(scores.begin(), scores.end());
    double z = 0.0;
    for (float x : scores) z += std::exp(static_cast<double>(x - top));
    return std::exp(static_cast<double>(scores[1] - top)) / z;
}

inline void run(const options& o) {
    if (o.budget <= 0.0) throw error("--budget", "must be positive (core-seconds per second of stream)");
    if (o.fps_given && !(o.fps > 0.0)) throw error("--fps", "must be a positive frame rate");
    if (o.threads < 1) throw error("--threads", "must be at least 1");
    if (o.max_frames < 0) throw error("--max-frames", "must be >= 0 (0: the whole video)");
    if (!(o.burst_margin >= 0.0) || !(o.burst_margin < 10.0))
        throw error("--burst-margin", "must be in [0, 10), got " + std::to_string(o.burst_margin));
    if (o.profile_gap_ms > 60'000.0) throw error("--profile-gap-ms", "must be at most 60000");
    check_frame_cost_flags(o.costs);
    if (!(o.speed_window_s > 0.0) || o.speed_window_s > 3600.0)
        throw error("--speed-window-s", "must be in (0, 3600], got " + std::to_string(o.speed_window_s));
    if (!(o.speed_tolerance >= 0.0) || o.speed_tolerance > 10.0)
        throw error("--speed-tolerance", "must be in [0, 10], got " + std::to_string(o.speed_tolerance));
    av_log_set_level(AV_LOG_ERROR);
    auto apps = std::make_shared<const catalog>(catalog::load(o.apps_path));
    std::vector<std::string> names;
    if (o.select.empty()) {
        for (const auto& a : apps->apps()) names.push_back(a.spec.name);
    } else {
        std::stringstream in(o.select);
        for (std::string n; std::getline(in, n, ',');)
            if (!n.empty()) {
                if (std::find(names.begin(), names.end(), n) != names.end())
                    throw error("--select", "names '" + n + "' twice");
                names.push_back(apps->find(n).spec.name);
            }
    }

    const graph architecture = fashion::app_architecture();
    const shape input = architecture.input_shape();
    video::video_source src(o.video, {.width = static_cast<int>(input.w),
                                      .height = static_cast<int>(input.h),
                                      .channels = static_cast<int>(input.c)});
    const double stream_fps = o.fps_given ? o.fps : src.info().fps;
    if (!(stream_fps > 0.0)) throw error(o.video, "declares no frame rate: give --fps");

    std::vector<double> layers;
    std::vector<double> second_copy;  // empty with --latencies: every copy at the table's time
    std::optional<experiment::frame_calibration> fit;
    if (!o.latencies_path.empty()) {
        layers = profiling::read_layer_latencies(o.latencies_path);
    } else {
        const graph base = apps->apps().front().package->base_model(fashion::app_architecture());
        // Sparse by default: an idle gap of one stream frame interval before every run, the regime
        // live frames run in (docs/experiment.md, "Live vs the latency table"); then the frame
        // cost model fitted to live executor frames (frame_costs.hpp).
        frame_cost_options costs_options = o.costs;
        costs_options.threads = o.threads;
        costs_options.runs = 20;
        costs_options.profile_gap_ms = o.profile_gap_ms >= 0.0 ? o.profile_gap_ms : 1000.0 / stream_fps;
        costs_options.second_copy = o.second_copy;
        const frame_costs costs = measure_frame_costs(base, "fashion_mobilenet", costs_options);
        layers = experiment::layer_seconds(costs.table);
        second_copy = experiment::second_copy_seconds(costs.table);
        fit = costs.fit;
        if (fit) print_frame_calibration(*fit, stderr);
    }
    const double step_seconds = fit ? fit->step_seconds : 0.0;
    double whole = 0.0;
    for (double l : layers) whole += l;
    const double box_share = o.box_share > 0.0 ? o.box_share : o.budget;

    line_writer out(o.out);
    runtime::executor ex({.input = input, .stream_fps = stream_fps, .threads = o.threads});
    live_planner planner(o, apps, layers, second_copy, step_seconds, stream_fps, box_share, ex, out);
    planner.deploy(names, "start");
    {
        // oneDNN JIT-compiles primitives on their first run; the process-wide primitive cache keeps
        // them, so a throw-away executor takes that cost off the stream's clock.
        runtime::executor warm({.input = input, .stream_fps = stream_fps, .threads = o.threads});
        const plan_record first = planner.records().back();
        for (const auto& a : first.apps)
            warm.add_app(a.name, *apps->model(a.name, a.num_frozen), {.num_frozen = a.num_frozen});
        const tensor<float> zeros(dims{1, input.c, input.h, input.w});
        for (int i = 0; i < 3; ++i) (void)warm.process(zeros.view());
    }
    controller control(o, planner, ex, out);

    const auto seconds = [](steady::duration x) { return std::chrono::duration<double>(x).count(); };
    // Which apps of the current plan want a frame: each app's rate applies to the frames of the stem
    // it branches from, so the apps' frames are the plan's, not each app's rate on the stream.
    const auto selector_for = [stream_fps](const plan_record& r) {
        std::vector<experiment::replay_app> plan_apps;
        for (const auto& a : r.apps) plan_apps.push_back({a.num_frozen, a.fps});
        return experiment::frame_selector(plan_apps, stream_fps, "stemshare run");
    };
    std::map<int, plan_counts> per_plan;
    std::map<std::string, app_counts> per_app;
    std::vector<double> executor_seconds;
    double table_seconds = 0.0;         // the cost model at the speed the running plan was made with
    double table_at_fit_seconds = 0.0;  // the cost model as measured at start-up (speed 1)
    runtime::speed_tracker speed({.window_seconds = o.speed_window_s, .tolerance = o.speed_tolerance});
    std::vector<experiment::replay_app> ran_apps;  // the apps that ran the frame (reused)
    std::vector<bool> ran_wanting;
    std::int64_t arrived = 0;
    std::int64_t dropped = 0;
    std::int64_t busy_arrivals = 0;
    std::string ended = "end of stream";
    std::uint64_t version = 0;
    std::size_t plans_seen = 0;
    plan_record current = planner.record_for(ex.plan_version());
    plan_record ran = current;  // the plan of the last processed frame
    experiment::frame_selector selector = selector_for(current);
    std::vector<bool> wanting(current.apps.size());
    video::video_frame f;
    double first_seconds = 0.0;
    const steady::time_point t0 = steady::now() + std::chrono::milliseconds(20);
    steady::time_point busy_until = t0;
    const auto wall_start = steady::now();
    std::string error_text;
    try {
        while (true) {
            if (o.max_frames > 0 && arrived >= o.max_frames) {
                ended = "--max-frames";
                break;
            }
            if (!src.next(f)) break;
            const std::int64_t j = arrived++;
            if (j == 0) first_seconds = f.seconds;
            const double at = o.fps_given ? static_cast<double>(j) / stream_fps : f.seconds - first_seconds;
            const steady::time_point arrival =
                t0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(at));
            // The plan the next frame runs under (a swap is picked up at the start of a frame). A
            // re-plan that changed no app keeps the executor's version but is a new record.
            const std::size_t plans_made = planner.plans_made();
            if (const auto newest = ex.plan_version(); newest != version || plans_made != plans_seen) {
                version = newest;
                plans_seen = plans_made;
                current = planner.record_for(version);
                selector = selector_for(current);
                wanting.assign(current.apps.size(), false);
            }
            plan_counts& pc = per_plan[current.index];
            ++pc.arrived;
            if (pc.first_frame < 0) pc.first_frame = j;
            pc.last_frame = j;
            const bool wanted = selector.select(static_cast<std::uint64_t>(j), wanting);
            for (std::size_t i = 0; i < current.apps.size(); ++i) {
                app_counts& ac = per_app[current.apps[i].name];
                ++ac.frames_deployed;
                ac.planned_decisions += current.apps[i].fps / stream_fps;
                if (wanting[i] && busy_until > arrival) ++ac.dropped;
            }
            if (busy_until > arrival) {
                // Nothing runs for it; it counts as dropped only when an app's rate selects it.
                ex.drop_frame();
                ++busy_arrivals;
                if (wanted) {
                    ++dropped;
                    ++pc.dropped;
                }
                continue;
            }
            std::this_thread::sleep_until(arrival);
            const steady::time_point start = steady::now();
            const runtime::frame_result& r = ex.process(f.pixels.view());
            const double spent = seconds(steady::now() - start);
            if (r.stem_runs + r.suffix_runs == 0) continue;
            busy_until = start + std::chrono::duration_cast<steady::duration>(
                                     std::chrono::duration<double>(spent / box_share));
            executor_seconds.push_back(spent);
            ++pc.processed;
            // Copied only when the frame's plan differs from the last one's (a record holds names).
            if (r.plan_version == current.executor_version) {
                if (ran.index != current.index) ran = current;
            } else if (r.plan_version != ran.executor_version) {
                ran = planner.record_for(r.plan_version);
            }
            const int plan_index = ran.index;
            ran_apps.clear();
            for (const runtime::app_result& a : r.apps) {
                if (!a.processed) continue;
                for (const auto& pa : ran.apps)
                    if (pa.name == a.app) ran_apps.push_back({pa.num_frozen, pa.fps});
                const double score = positive_probability(a.scores);
                const bool positive = a.decision == 1;
                app_counts& ac = per_app[std::string(a.app)];
                ++ac.decisions;
                ac.positives += positive ? 1 : 0;
                char line[256];
                std::snprintf(
                    line, sizeof line,
                    "{\"frame\":%lld,\"t\":%.6f,\"app\":\"%.*s\",\"score\":%.6g,\"positive\":%s,\"plan\":%d}",
                    static_cast<long long>(j), f.seconds, static_cast<int>(a.app.size()), a.app.data(), score,
                    positive ? "true" : "false", plan_index);
                out.write(line);
            }
            // The table's cost of the frame: each layer once if any app that ran shares it, plus once
            // per app whose own suffix holds it (further copies at `second_copy` when measured), plus
            // the fitted cost of every step it ran.
            ran_wanting.assign(ran_apps.size(), true);
            const double model =
                experiment::frame_seconds(ran_apps, ran_wanting, layers, second_copy, step_seconds);
            table_seconds += model * ran.speed;
            table_at_fit_seconds += model;
            out.flush();  // a reader on a pipe sees each frame's decisions as they happen
            // The box is off the cost model by more than --speed-tolerance for a whole window:
            // the control thread re-plans on the model scaled to it.
            if (const std::optional<double> moved = speed.add(at, spent, model))
                control.request_speed(*moved);
        }
    } catch (const std::exception& e) {
        error_text = e.what();
        ended = "error";
    }
    const double wall = seconds(steady::now() - wall_start);
    control.stop();
    speed.finish();

    // The summary.
    const double stream_seconds = static_cast<double>(arrived) / stream_fps;
    const auto processed = static_cast<std::int64_t>(executor_seconds.size());
    double exec_total = 0.0;
    for (double s : executor_seconds) exec_total += s;
    nlohmann::ordered_json s;
    s["video"] = {{"url", src.info().url},     {"format", src.info().format}, {"codec", src.info().codec},
                  {"width", src.info().width}, {"height", src.info().height}, {"fps", src.info().fps}};
    s["ended"] = ended;
    if (!error_text.empty()) s["error"] = error_text;
    s["stream_fps"] = stream_fps;
    s["budget"] = o.budget;
    s["box_share"] = box_share;
    s["planner"] = o.planner;
    s["whole_model_seconds"] = whole;
    if (fit) s["frame_calibration"] = frame_calibration_json(fit);
    // dropped: frames some app's rate selects that arrived while the box was busy.
    s["frames"] = {{"arrived", arrived},
                   {"processed", processed},
                   {"dropped", dropped},
                   {"arrived_while_busy", busy_arrivals},
                   {"stream_seconds", stream_seconds},
                   {"wall_seconds", wall}};
    const double n = processed > 0 ? static_cast<double>(processed) : 1.0;
    s["per_frame_cost_us"] = {{"executor_mean", exec_total / n * 1e6},
                              {"executor_median", profiling::median(executor_seconds) * 1e6},
                              {"table_mean", table_seconds / n * 1e6},
                              {"table_at_startup_speed_mean", table_at_fit_seconds / n * 1e6}};
    // The box's speed against the start-up cost model, per window of stream (the last one the
    // stream's end cut short, which never moves the speed), the re-plans it caused and those the
    // budget refused.
    s["speed"] = {{"window_seconds", o.speed_window_s},   {"tolerance", o.speed_tolerance},
                  {"windows", speed.windows()},           {"changes", speed.changes()},
                  {"replans_refused", control.refused()}, {"last", speed.speed()}};
    nlohmann::ordered_json app_list = nlohmann::ordered_json::array();
    for (const auto& [name, ac] : per_app) {
        const double deployed_seconds = static_cast<double>(ac.frames_deployed) / stream_fps;
        app_list.push_back(
            {{"name", name},
             {"planned_fps", deployed_seconds > 0 ? ac.planned_decisions / deployed_seconds : 0.0},
             {"achieved_fps",
              deployed_seconds > 0 ? static_cast<double>(ac.decisions) / deployed_seconds : 0.0},
             {"decisions", ac.decisions},
             {"positives", ac.positives},
             {"dropped", ac.dropped},
             {"seconds_deployed", deployed_seconds}});
    }
    s["apps"] = app_list;
    nlohmann::ordered_json plans = nlohmann::ordered_json::array();
    for (const plan_record& r : planner.records()) {
        const plan_counts pc = per_plan.count(r.index) ? per_plan[r.index] : plan_counts{};
        nlohmann::ordered_json names_json = nlohmann::ordered_json::array();
        for (const auto& a : r.apps) names_json.push_back(a.name);
        plans.push_back({{"plan", r.index},
                         {"reason", r.reason},
                         {"apps", names_json},
                         {"cost", r.cost},
                         {"mean_f1", r.mean_f1},
                         {"first_frame", pc.first_frame},
                         {"last_frame", pc.last_frame},
                         {"frames_arrived", pc.arrived},
                         {"frames_processed", pc.processed},
                         {"frames_dropped", pc.dropped}});
    }
    s["plans"] = plans;
    out.write(nlohmann::ordered_json{{"summary", s}}.dump());
    out.flush();

    std::fprintf(
        stderr,
        "stemshare run: %s (%s %dx%d, %.3g fps): %lld frames, %lld processed, %lld dropped (%lld arrived "
        "while busy), "
        "%.1f s; executor %.1f us/frame (median %.1f), table %.1f us/frame (%.1f at start-up speed); box "
        "speed %.2fx after %zu change(s); %zu plan(s); ended: %s\n",
        src.info().url.c_str(), src.info().codec.c_str(), src.info().width, src.info().height, stream_fps,
        static_cast<long long>(arrived), static_cast<long long>(processed), static_cast<long long>(dropped),
        static_cast<long long>(busy_arrivals), stream_seconds, exec_total / n * 1e6,
        profiling::median(executor_seconds) * 1e6, table_seconds / n * 1e6, table_at_fit_seconds / n * 1e6,
        speed.speed(), speed.changes(), planner.records().size(), ended.c_str());
    if (!error_text.empty()) throw error(error_text);
}

}  // namespace run_detail

/// Registers `stemshare run`.
inline void register_run_command(CLI::App& app) {
    auto o = std::make_shared<run_detail::options>();
    CLI::App* sub = app.add_subcommand(
        "run",
        "Run the apps of an apps file live on a video (file or URL): plan, pace at the video's rate, "
        "drop frames while busy, re-plan when apps join or leave; one JSON line per decision");
    sub->add_option("--video", o->video, "Video file or any URL FFmpeg opens")->required();
    sub->add_option("--apps", o->apps_path, "Apps file (format stemshare.run-apps; watched for changes)")
        ->capture_default_str();
    sub->add_option("--select", o->select, "Comma-separated apps of the file to start with (default: all)");
    sub->add_option("--budget", o->budget, "Compute budget in core-seconds per second of stream")->required();
    sub->add_option("--fps", o->fps, "Stream frame rate (default: the video's); frames are paced at it");
    sub->add_option("--planner", o->planner, "mainstream_greedy | greedy | exact")->capture_default_str();
    sub->add_option("--mode", o->mode, "mainstream | nosharing | maxsharing")->capture_default_str();
    sub->add_option("--box-share", o->box_share,
                    "Speed of the emulated box as a fraction of this core (default: the budget)");
    sub->add_option("--latencies", o->latencies_path,
                    "Latency table for the planner (default: profile the base model now)");
    sub->add_option("--control", o->control,
                    "Control lines 'add APP', 'remove APP', 'at FRAME ...' (FIFO, file, -)");
    sub->add_flag("--no-watch", o->no_watch, "Do not re-plan when the apps file changes");
    sub->add_flag("--burst-fit", o->burst_fit,
                  "Plan with the largest budget whose frames fit the gaps between wanted frames on the box, "
                  "not only on average (experiment/burst_fit.hpp)");
    sub->add_option("--burst-margin", o->burst_margin,
                    "With --burst-fit: charge each frame (1 + margin) x its table time")
        ->capture_default_str();
    sub->add_flag(
        "--second-copy", o->second_copy,
        "Profile each layer's second copy too and charge a frame's further copies of a layer that time "
        "(table cost per frame, --burst-fit); always so when the frame cost model is fitted, ignored with "
        "--latencies");
    add_frame_calibration_flags(sub, o->costs);
    sub->add_option(
        "--profile-gap-ms", o->profile_gap_ms,
        "Idle gap before every profiling run (default: one stream frame interval; 0: back to back)");
    sub->add_option("--out", o->out, "JSON lines output (- = stdout)")->capture_default_str();
    sub->add_option("--max-frames", o->max_frames, "Stop after this many frames (0: the whole video)");
    sub->add_option("--threads", o->threads, "oneDNN threads per step")->capture_default_str();
    sub->add_option(
           "--speed-window-s", o->speed_window_s,
           "Seconds of stream per window in which the box's speed is measured against the cost model")
        ->capture_default_str();
    sub->add_option(
           "--speed-tolerance", o->speed_tolerance,
           "Re-plan on the cost model scaled to the box's speed when a window is off it by more than "
           "this fraction (0: measure only)")
        ->capture_default_str();
    sub->callback([o, sub] {
        o->fps_given = sub->count("--fps") > 0;
        run_detail::run(*o);
    });
}

}  // namespace stemshare::tools
