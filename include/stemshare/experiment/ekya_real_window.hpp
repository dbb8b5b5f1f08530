#pragma once
/// \file
/// Ekya's real mode for one retraining window (docs/ekya.md): every camera's inference job and
/// chosen retraining job run at once, on their own threads, each held to the share the scheduler
/// gave it by a `runtime::cpu_share_gate` (thread count ceil(share), time slicing for the
/// fraction). Frames arrive at a fixed rate; an inference job analyses the newest frame each time
/// it is free, with the model current then, and every frame in between reuses the last result.
/// When a retraining ends, its model takes over from the next analysed frame and the scheduler is
/// called again with the time left (Ekya's re-allocation). Link `stemshare::eigen`.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/backend/onednn/threading.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/experiment/micro_profiler.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/runtime/cpu_share_gate.hpp>
#include <stemshare/sched/ekya/allocation.hpp>
#include <stemshare/sched/ekya/scheduler.hpp>
#include <stemshare/train/dataset.hpp>
#include <stemshare/train/evaluate.hpp>

namespace stemshare::experiment {

/// One camera of a real window. `profiles[i]` is the configuration behind the window's option i.
struct real_camera {
    graph model;                              ///< the current model (bound, logits out)
    const tensor<float>* frames;              ///< the window's frames {F, c, h, w}, streamed in a loop
    const std::vector<std::int32_t>* labels;  ///< ground truth of `frames`
    const train::dataset* train;              ///< retraining data
    const train::dataset* validation;
    std::vector<sched::ekya::retrain_config> configs;  ///< one per option of the window's camera
    /// Retraining data of configurations with `history`: every earlier window's (null: `train`).
    const train::dataset* history = nullptr;
};

/// How the window runs.
struct real_window_options {
    double frames_per_second = 1000;   ///< arrival rate of every camera's frames
    int chunks = 10;                   ///< inference is scored in this many chunks
    micro_profile_options training{};  ///< the retraining recipe
    std::chrono::microseconds slice = std::chrono::milliseconds(20);
};

/// What one job used against its share (in CPUs: share x cores).
struct real_job_report {
    std::string camera;
    std::string kind;           ///< "inference" or "retraining"
    double wall_seconds = 0;    ///< from the window's start to the job's end
    double cpu_seconds = 0;     ///< summed per-thread CPU time of its threads
    double share_seconds = 0;   ///< integral of its share (CPUs) over its life
    double waited_seconds = 0;  ///< inference only: time with no new frame to analyse
    int max_threads = 0;
    bool finished = false;  ///< retraining only: ended inside the window

    [[nodiscard]] double cpus() const { return wall_seconds > 0 ? cpu_seconds / wall_seconds : 0; }
    [[nodiscard]] double share_cpus() const { return wall_seconds > 0 ? share_seconds / wall_seconds : 0; }
};

/// One camera's outcome.
struct real_camera_result {
    std::vector<double> chunk_accuracy;  ///< against ground truth, each frame with the result it showed
    double accuracy = 0;                 ///< mean over chunks
    double analysed_fraction = 0;        ///< frames analysed / frames arrived
    double retrained_at = -1;            ///< seconds into the window its new model took over; -1: none
    std::optional<retrain_result> retrained;
    std::optional<std::size_t> option;  ///< the retraining the scheduler chose first
};

struct real_window_result {
    std::vector<real_camera_result> cameras;
    std::vector<real_job_report> jobs;
    std::vector<std::pair<double, sched::ekya::allocation>> allocations;  ///< (seconds, shares)
};

namespace detail {

struct camera_state {
    std::mutex mutex;
    std::shared_ptr<const graph> current;
    int version = 0;
    std::unique_ptr<runtime::cpu_share_gate> inference, training;
    std::vector<std::pair<std::int64_t, std::int32_t>> shown;  ///< (frame, result), by the inference thread
    std::optional<std::size_t> running;
    bool finished = false;
    real_camera_result result;
    real_job_report inference_report, training_report;
};

/// Joins the calling thread's OpenMP team of `threads` to `gate` (oneDNN runs on that team).
inline void join_team(runtime::cpu_share_gate& gate, int threads) {
    onednn::use_threads(threads);
    onednn::on_each_team_thread(threads, [&] { gate.join(); });
}

inline void fill_report(real_job_report& r, runtime::cpu_share_gate& gate, double wall) {
    r.wall_seconds = wall;
    r.cpu_seconds = gate.cpu_seconds();
    r.share_seconds = gate.share_seconds();
}

}  // namespace detail

/// Runs window `w` (its options priced, `w.box` = the whole box) for real for `w.seconds` wall
/// seconds on `cores` CPUs, with `scheduler` deciding the shares at the start and after each
/// retraining ends. Throws `stemshare::error` on bad input (naming the field) or a bad allocation.
[[nodiscard]] inline real_window_result run_real_window(const sched::ekya::scheduler& scheduler,
                                                        sched::ekya::window w,
                                                        std::vector<real_camera>& cameras, int cores,
                                                        const real_window_options& o = {}) {
    namespace ek = sched::ekya;
    ek::validate(w);
    require(cameras.size() == w.cameras.size(), "ekya real window",
            std::to_string(cameras.size()) + " cameras for a window of " + std::to_string(w.cameras.size()));
    require(cores > 0, "ekya real window", "cores must be positive");
    require(std::isfinite(o.frames_per_second) && o.frames_per_second > 0, "ekya real window",
            "frames_per_second must be positive");
    require(o.chunks > 0, "ekya real window", "chunks must be positive");
    for (std::size_t i = 0; i < cameras.size(); ++i) {
        const std::string where = "ekya real window, camera '" + w.cameras[i].name + "'";
        require(cameras[i].frames && cameras[i].labels && cameras[i].frames->extents()[0] > 0 &&
                    static_cast<std::size_t>(cameras[i].frames->extents()[0]) == cameras[i].labels->size(),
                where, "frames and labels must be given, non-empty and of equal count");
        require(cameras[i].configs.size() == w.cameras[i].options.size(), where,
                "one configuration per option is needed");
    }
    const double box_cpus = static_cast<double>(cores) / w.box;  // CPUs per unit of share
    const double window_seconds = w.seconds;
    const std::size_t n = cameras.size();

    ek::allocation a = scheduler.allocate(w);
    ek::validate(a, w);
    real_window_result out;
    out.allocations.emplace_back(0.0, a);

    std::vector<std::unique_ptr<detail::camera_state>> state;
    for (std::size_t i = 0; i < n; ++i) {
        auto s = std::make_unique<detail::camera_state>();
        s->current = std::make_shared<const graph>(cameras[i].model);
        s->inference = std::make_unique<runtime::cpu_share_gate>(a[i].inference * box_cpus, o.slice);
        s->result.option = a[i].option;
        if (a[i].option) {
            s->running = a[i].option;
            s->training = std::make_unique<runtime::cpu_share_gate>(a[i].training * box_cpus, o.slice);
        }
        s->inference_report = {w.cameras[i].name, "inference"};
        s->training_report = {w.cameras[i].name, "retraining"};
        state.push_back(std::move(s));
    }

    std::mutex events_mutex;
    std::condition_variable events;
    int finished_events = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const auto since = [t0] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> failures(2 * n);

    for (std::size_t i = 0; i < n; ++i) {
        detail::camera_state& s = *state[i];
        const real_camera& cam = cameras[i];
        threads.emplace_back([&, i] {
            runtime::cpu_share_gate& gate = *s.inference;
            try {
                int team = gate.threads();
                detail::join_team(gate, team);
                s.inference_report.max_threads = team;
                std::shared_ptr<const graph> model;
                int version = -1;
                std::optional<onednn::compiled_graph> compiled;
                const shape in = cam.model.input_shape(), outs = cam.model.output_shape();
                tensor<float> src(dims{1, in.c, in.h, in.w}), dst(dims{1, outs.c, outs.h, outs.w});
                const std::int64_t frames = cam.frames->extents()[0];
                const std::int64_t item = in.numel();
                std::int64_t last = -1;
                for (;;) {
                    gate.throttle();
                    const double t = since();
                    if (t >= window_seconds) break;
                    const auto g = static_cast<std::int64_t>(t * o.frames_per_second);
                    if (g == last) {  // nothing new: wait for the next frame
                        const double wait =
                            std::min(0.005, static_cast<double>(last + 1) / o.frames_per_second - t);
                        if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
                        s.inference_report.waited_seconds += std::max(0.0, wait);
                        continue;
                    }
                    {
                        const std::scoped_lock lock(s.mutex);
                        if (s.version != version) {
                            model = s.current;
                            version = s.version;
                            compiled.reset();
                        }
                    }
                    if (gate.threads() != team) {  // a re-allocation changed the thread count
                        gate.leave_all();
                        team = gate.threads();
                        detail::join_team(gate, team);
                        s.inference_report.max_threads = std::max(s.inference_report.max_threads, team);
                        compiled.reset();
                    }
                    if (!compiled)
                        compiled.emplace(*model, onednn::compile_options{.batch = 1, .threads = team});
                    std::copy_n(cam.frames->data() + (g % frames) * item, item, src.data());
                    compiled->run(src.view(), dst.view());
                    const float* row = dst.data();
                    const auto best =
                        static_cast<std::int32_t>(std::max_element(row, row + outs.numel()) - row);
                    s.shown.emplace_back(g, best);
                    last = g;
                }
            } catch (const runtime::job_stopped&) {
            } catch (...) {
                failures[i] = std::current_exception();
            }
            gate.leave_all();
            detail::fill_report(s.inference_report, gate, std::min(since(), window_seconds));
        });
        if (!s.running) continue;
        threads.emplace_back([&, i] {
            runtime::cpu_share_gate& gate = *s.training;
            try {
                const int team = gate.threads();
                detail::join_team(gate, team);
                s.training_report.max_threads = team;
                micro_profile_options recipe = o.training;
                recipe.on_step = [&gate] { gate.throttle(); };
                const sched::ekya::retrain_config& config = cam.configs[*s.running];
                const train::dataset& data = config.history && cam.history ? *cam.history : *cam.train;
                retrain_result r = retrain(cam.model, data, *cam.validation, config, recipe);
                gate.throttle();  // the last steps' CPU is charged before the model takes over
                const double t = since();
                if (t < window_seconds) {
                    const std::scoped_lock lock(s.mutex);
                    s.current = std::make_shared<const graph>(r.model);
                    ++s.version;
                    s.result.retrained_at = t;
                    s.training_report.finished = true;
                    s.result.retrained = std::move(r);
                }
            } catch (const runtime::job_stopped&) {
            } catch (...) {
                failures[n + i] = std::current_exception();
            }
            gate.leave_all();
            detail::fill_report(s.training_report, gate, std::min(since(), window_seconds));
            {
                const std::scoped_lock lock(events_mutex);
                s.finished = true;
                ++finished_events;
            }
            events.notify_all();
        });
    }

    const auto stop_and_join = [&] {
        for (auto& s : state) {
            s->inference->stop();
            if (s->training) s->training->stop();
        }
        for (std::thread& t : threads) t.join();
    };
    // A scheduler that throws mid-window must not leave running threads behind.
    try {
        // Re-allocate each time a retraining ends, until the window's time is up.
        int seen = 0;
        std::vector<bool> handled(n, false);
        for (;;) {
            std::unique_lock lock(events_mutex);
            const auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                           std::chrono::duration<double>(window_seconds));
            if (!events.wait_until(lock, deadline, [&] { return finished_events > seen; })) break;
            seen = finished_events;
            lock.unlock();
            const double t = since();
            if (t >= window_seconds - 0.05) break;
            ek::window rest = w;
            rest.seconds = window_seconds - t;
            bool any_running = false;
            for (std::size_t i = 0; i < n; ++i) {
                detail::camera_state& s = *state[i];
                ek::camera& c = rest.cameras[i];
                bool done = false;
                {
                    const std::scoped_lock l(events_mutex);
                    done = s.finished;
                }
                if (s.running && done) {
                    if (s.training_report.finished) c.accuracy = c.options[*s.running].predicted_accuracy;
                    c.options.clear();
                    c.running.reset();
                    handled[i] = true;
                } else if (s.running) {
                    c.running = s.running;
                    c.work_done = s.training->cpu_seconds() / box_cpus;
                    any_running = true;
                } else {
                    c.options.clear();  // a job does not start mid-window
                }
            }
            (void)any_running;
            ek::allocation next = scheduler.allocate(rest);
            ek::validate(next, rest);
            out.allocations.emplace_back(t, next);
            for (std::size_t i = 0; i < n; ++i) {
                detail::camera_state& s = *state[i];
                s.inference->set_cpus(next[i].inference * box_cpus);
                if (s.running && !handled[i]) {
                    if (next[i].option)
                        s.training->set_cpus(next[i].training * box_cpus);
                    else
                        s.training->stop();
                }
            }
        }
    } catch (...) {
        stop_and_join();
        throw;
    }
    stop_and_join();
    for (const std::exception_ptr& f : failures)
        if (f) std::rethrow_exception(f);

    // Score every frame that arrived with the result shown for it (none yet: wrong).
    const auto total = static_cast<std::int64_t>(window_seconds * o.frames_per_second);
    for (std::size_t i = 0; i < n; ++i) {
        detail::camera_state& s = *state[i];
        const auto& labels = *cameras[i].labels;
        const auto frames = static_cast<std::int64_t>(labels.size());
        real_camera_result& r = s.result;
        std::size_t next = 0;
        std::int32_t showing = -1;
        for (int j = 0; j < o.chunks; ++j) {
            const std::int64_t begin = total * j / o.chunks, end = total * (j + 1) / o.chunks;
            std::int64_t hits = 0;
            for (std::int64_t g = begin; g < end; ++g) {
                while (next < s.shown.size() && s.shown[next].first <= g) showing = s.shown[next++].second;
                hits += showing == labels[static_cast<std::size_t>(g % frames)] ? 1 : 0;
            }
            r.chunk_accuracy.push_back(
                end > begin ? static_cast<double>(hits) / static_cast<double>(end - begin) : 0.0);
        }
        for (double v : r.chunk_accuracy) r.accuracy += v / o.chunks;
        r.analysed_fraction =
            total > 0 ? static_cast<double>(s.shown.size()) / static_cast<double>(total) : 0.0;
        out.jobs.push_back(s.inference_report);
        if (s.training) out.jobs.push_back(s.training_report);
        out.cameras.push_back(std::move(r));
    }
    return out;
}

}  // namespace stemshare::experiment
