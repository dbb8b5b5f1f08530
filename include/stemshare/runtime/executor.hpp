#pragma once
/// \file
/// `executor`: runs a stream through the stem trie of the deployed apps. Each shared stem runs
/// once per frame it is needed for, its output feeds every app below it, and each app's suffix
/// runs on the frames its own rate selects (frame_rate.hpp gives the exact rule).
///
/// Hot-swap. Changes (an app joins, leaves, is replaced with another branch point, changes its
/// rate, or the thread count changes) may come from any thread while the stream thread calls
/// `process`. A change edits a copy of the trie, compiles the new plan (reusing every compiled
/// stem and suffix that did not change) and only then publishes it; `process` picks the newest
/// plan up at the start of a frame, so a frame in flight always finishes under the plan it
/// started with and no frame is lost or run twice. A change that fails (bad model, bad branch
/// point, unknown app) throws and leaves the running plan and the trie as they were.
///
/// Threads. One setting: the thread count (0 = all cores). Steps run one after another on the
/// stream thread, each using those threads inside its primitives; with
/// `suffixes = suffix_mode::parallel` a frame's suffixes instead run side by side after its
/// stems, one thread each (execution_plan.hpp).

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/onednn_runner.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/runtime/execution_plan.hpp>
#include <stemshare/stem/stem_trie.hpp>

namespace stemshare::runtime {

struct executor_options {
    /// Per-image shape of the stream's frames.
    shape input;
    /// Frames per second of the stream (F); app rates are at most this.
    double stream_fps = 30.0;
    /// Threads of every compiled step (0 = all cores).
    int threads = 0;
    /// How steps are compiled (oneDNN unless told otherwise).
    runner_factory runners = onednn_runners();
    /// Whether a frame's suffixes run one after another with all threads, or side by side.
    suffix_mode suffixes = suffix_mode::serial;
    /// With serial suffixes, whether every step runs in one workspace of the plan's instead of an
    /// arena and scratchpad of its own (execution_plan.hpp, "Memory"). Off only to measure it.
    bool share_workspace = true;
};

/// Where an app sits in the plan.
struct app_options {
    /// Branch point k: the first k layers are frozen and may be shared. Must be a branch point of
    /// the model.
    std::size_t num_frozen = 0;
    /// Frames per second the app analyses; 0 means every frame (the stream's rate).
    double fps = 0.0;
    decision_rule decision = decision_rule::argmax();
    /// Stream frames the app's frames are shifted by (branch point 0 only; frame_rate.hpp,
    /// `selects_with_phase`): staggers apps at one rate. 0: the original rule.
    std::uint64_t phase = 0;
};

class executor {
public:
    explicit executor(executor_options options)
        : trie_(options.input),
          stream_(frame_rate::from_fps(options.stream_fps, "executor: stream")),
          threads_(options.threads),
          factory_(std::move(options.runners)),
          suffixes_(options.suffixes),
          share_workspace_(options.share_workspace) {
        if (threads_ < 0)
            throw error("executor",
                        "thread count must be 0 (all cores) or positive, got " + std::to_string(threads_));
        if (!factory_) throw error("executor", "no runner factory given");
        publish(std::make_shared<execution_plan>(trie_, settings_, stream_, threads_, factory_,
                                                 runner_cache{}, ++version_, suffixes_, share_workspace_));
    }

    executor(const executor&) = delete;
    executor& operator=(const executor&) = delete;

    /// Deploys app `name` running `model` (bound weights, the stream's input shape). Its layers
    /// before `options.num_frozen` are shared with every app holding the same layers and weights.
    void add_app(const std::string& name, const graph& model, app_options options) {
        change([&](stem::stem_trie& trie, app_settings_map& settings) {
            const app_settings s = settings_for(name, model, options);
            trie.insert(name, model, options.num_frozen);
            settings[name] = s;
        });
    }

    /// Replaces app `name` by `model` at `options` in one swap (e.g. a new branch point).
    void replace_app(const std::string& name, const graph& model, app_options options) {
        change([&](stem::stem_trie& trie, app_settings_map& settings) {
            const app_settings s = settings_for(name, model, options);
            trie.remove(name);
            trie.insert(name, model, options.num_frozen);
            settings[name] = s;
        });
    }

    void remove_app(std::string_view name) {
        change([&](stem::stem_trie& trie, app_settings_map& settings) {
            trie.remove(name);
            settings.erase(settings.find(name));
        });
    }

    /// One change of `apply`: app `name` leaves (`remove`), or runs `model` at `options` (deployed
    /// anew or replacing its current model), or only changes its rate when `model` is null.
    struct app_edit {
        std::string name;
        const graph* model = nullptr;
        app_options options{};
        bool remove = false;
    };

    /// Applies several changes in one swap, so no frame runs under a plan half-way between them
    /// (a re-plan that moves several apps at once). All or nothing, as every change.
    void apply(const std::vector<app_edit>& edits) {
        change([&](stem::stem_trie& trie, app_settings_map& settings) {
            for (const app_edit& e : edits) {
                const std::string who = "executor: app '" + e.name + "'";
                if (e.remove) {
                    trie.remove(e.name);
                    settings.erase(settings.find(e.name));
                } else if (e.model == nullptr) {
                    (void)trie.app(e.name);
                    settings.find(e.name)->second.rate = rate_for(who, e.options.fps);
                } else {
                    const app_settings s = settings_for(e.name, *e.model, e.options);
                    if (settings.find(e.name) != settings.end()) trie.remove(e.name);
                    trie.insert(e.name, *e.model, e.options.num_frozen);
                    settings[e.name] = s;
                }
            }
        });
    }

    /// Changes how many frames per second app `name` analyses (0 = every frame).
    void set_fps(std::string_view name, double fps) {
        change([&](stem::stem_trie& trie, app_settings_map& settings) {
            (void)trie.app(name);
            settings.find(name)->second.rate = rate_for("executor: app '" + std::string(name) + "'", fps);
        });
    }

    /// Compiles every step for `threads` threads (0 = all cores); runner keys hold the thread
    /// count, so steps already compiled for it are reused.
    void set_threads(int threads) {
        if (threads < 0)
            throw error("executor",
                        "thread count must be 0 (all cores) or positive, got " + std::to_string(threads));
        std::lock_guard lock(change_mutex_);
        auto plan = std::make_shared<execution_plan>(trie_, settings_, stream_, threads, factory_, cache_,
                                                     version_ + 1, suffixes_, share_workspace_);
        ++version_;
        threads_ = threads;
        cache_ = plan->runners();
        publish(std::move(plan));
    }

    /// Processes the next stream frame ({1, c, h, w} plain). Call from one thread only. The
    /// result is valid until the next call. A frame of the wrong shape is refused and uses no
    /// frame number. A suffix whose runner throws fails only its own app for this frame
    /// (`app_result::error`); a stem that throws still uses the frame's number, as a dropped frame
    /// does, and its error reaches the caller.
    const frame_result& process(tensor_view<const float> frame) {
        {
            std::lock_guard lock(publish_mutex_);
            if (pending_) current_ = std::move(pending_);
        }
        check_frame(frame);
        try {
            current_->run(frames_, frame, result_);
        } catch (...) {
            next_frame();
            throw;
        }
        next_frame();
        return result_;
    }

    /// Runs the newest plan's every step once on `frame` (any frame of the stream's shape) without
    /// using a frame number: call it shortly before a frame after an idle gap so that frame finds
    /// the weights and buffers in the caches (runtime/frame_wait.hpp). The last result is stale
    /// afterwards. Call from the stream thread only.
    void warm(tensor_view<const float> frame) {
        {
            std::lock_guard lock(publish_mutex_);
            if (pending_) current_ = std::move(pending_);
        }
        check_frame(frame);
        current_->rehearse(frame);
    }

    /// Counts the next stream frame as dropped (it arrived while the box was busy): nothing runs
    /// for it, and later frames keep their stream numbers, so every app still takes the frames
    /// its rate selects from the stream. Call from the stream thread only.
    void drop_frame() noexcept { next_frame(); }

    /// Frames processed so far.
    [[nodiscard]] std::uint64_t frames() const noexcept { return frames_.load(std::memory_order_relaxed); }
    /// Version of the newest plan (the one the next frame runs under).
    [[nodiscard]] std::uint64_t plan_version() const {
        std::lock_guard lock(change_mutex_);
        return version_;
    }
    /// A copy of the current trie (cheap: the layers are shared, not copied).
    [[nodiscard]] stem::stem_trie trie() const {
        std::lock_guard lock(change_mutex_);
        return trie_;
    }
    [[nodiscard]] stem::sharing_report report() const {
        std::lock_guard lock(change_mutex_);
        return trie_.report();
    }
    /// The newest plan (for inspection: steps, memory, description).
    [[nodiscard]] std::shared_ptr<const execution_plan> plan() const {
        std::lock_guard lock(change_mutex_);
        return newest_;
    }

private:
    void check_frame(tensor_view<const float> frame) const {
        const shape in = current_->input_shape();
        const dims& d = frame.extents();
        if (d.rank() != 4 || d[0] != 1 || d[1] != in.c || d[2] != in.h || d[3] != in.w ||
            frame.memory_layout() != layout::plain)
            throw error("executor::process", "frame must be plain {1, " + std::to_string(in.c) + ", " +
                                                 std::to_string(in.h) + ", " + std::to_string(in.w) +
                                                 "}, got " + to_string(d));
    }
    void next_frame() noexcept {
        frames_.store(frames_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    [[nodiscard]] frame_rate rate_for(const std::string& who, double fps) const {
        const frame_rate r = fps == 0.0 ? stream_ : frame_rate::from_fps(fps, who);
        if (r > stream_)
            throw error(who, "frame rate " + std::to_string(fps) + " fps is above the stream's " +
                                 std::to_string(stream_.fps()));
        return r;
    }
    [[nodiscard]] app_settings settings_for(const std::string& name, const graph& model,
                                            const app_options& options) const {
        const std::string who = "executor: app '" + name + "'";
        app_settings s{rate_for(who, options.fps), options.decision, options.phase};
        s.decision.validate(model.output_shape().numel(), who);
        return s;
    }

    /// Applies `edit` to copies of the trie and settings, builds the plan, then commits all.
    template <class Edit>
    void change(Edit edit) {
        std::lock_guard lock(change_mutex_);
        stem::stem_trie trie = trie_;
        app_settings_map settings = settings_;
        edit(trie, settings);
        auto plan = std::make_shared<execution_plan>(trie, settings, stream_, threads_, factory_, cache_,
                                                     version_ + 1, suffixes_, share_workspace_);
        ++version_;
        trie_ = std::move(trie);
        settings_ = std::move(settings);
        cache_ = plan->runners();
        publish(std::move(plan));
    }

    void publish(std::shared_ptr<execution_plan> plan) {
        newest_ = plan;
        std::lock_guard lock(publish_mutex_);
        pending_ = std::move(plan);
    }

    // Guarded by change_mutex_.
    mutable std::mutex change_mutex_;
    stem::stem_trie trie_;
    app_settings_map settings_;
    runner_cache cache_;
    frame_rate stream_;
    int threads_;
    runner_factory factory_;
    suffix_mode suffixes_;
    bool share_workspace_;
    std::uint64_t version_ = 0;
    std::shared_ptr<const execution_plan> newest_;

    // The hand-over between a change and the stream thread.
    std::mutex publish_mutex_;
    std::shared_ptr<execution_plan> pending_;

    // Stream thread only.
    std::shared_ptr<execution_plan> current_;
    frame_result result_;
    std::atomic<std::uint64_t> frames_{0};
};

}  // namespace stemshare::runtime
