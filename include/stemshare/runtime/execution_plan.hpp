#pragma once
/// \file
/// `execution_plan`: one immutable schedule of a stem trie, compiled and with its memory laid
/// out, that runs stream frames. Built off the stream thread; the executor swaps plans between
/// frames.
///
/// Steps. Chains of trie nodes that every app below passes through together (a node with one
/// child and no app branching at it) are joined into one *stem step*, compiled as a single
/// graph, so a cut costs something only where apps really diverge. Each app adds a *suffix
/// step* fed by the stem step it branches from (or by the frame when nothing is frozen). Steps
/// are in depth-first order, so a step's descendants are the steps right after it and a skipped
/// step skips its whole subtree in one jump.
///
/// Memory. Stem outputs live in one arena placed by a liveness plan (a buffer is reused once
/// its last reader ran); app scores have their own buffers because results outlive the frame.
/// With serial suffixes, every step's runner also runs in one workspace of the plan's (its
/// intermediate values and scratchpad: `segment_runner::use_workspace`), sized for the largest:
/// steps run one at a time and nothing in a workspace outlives a step, so a frame of many steps
/// touches one workspace instead of one per step. That is what a sparse stream pays for, with
/// caches gone cold between frames (docs/runtime.md, "Sparse streams"). Runners are shared with
/// the plans before and after this one, so the stream thread points them at this plan's workspace
/// when it first runs the plan. Everything is allocated here: running a frame allocates nothing
/// in this code.
///
/// Suffixes in parallel (`suffix_mode::parallel`): the frame's stem steps run first, one after
/// another with all threads each; then the suffixes the frame selects run side by side, one per
/// thread, each compiled for one thread. A suffix's layers are mostly small late layers that use
/// two threads poorly, while two suffixes at once keep both cores busy. Stem outputs a suffix
/// reads then stay live until the frame ends.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/threading.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/core/liveness_plan.hpp>
#include <stemshare/runtime/decision_rule.hpp>
#include <stemshare/runtime/frame_rate.hpp>
#include <stemshare/runtime/frame_result.hpp>
#include <stemshare/runtime/segment_runner.hpp>
#include <stemshare/stem/stem_trie.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::runtime {

/// Per-app run-time settings (what the planner chooses besides the branch point).
struct app_settings {
    frame_rate rate;
    decision_rule decision;
    /// Stream frames the app's frames are shifted by (frame_rate.hpp, `selects_with_phase`); only
    /// for an app that reads the stream directly (branch point 0).
    std::uint64_t phase = 0;
};

using app_settings_map = std::map<std::string, app_settings, std::less<>>;

/// Compiled runners by what they compute (and thread count), handed from plan to plan so an
/// unchanged stem or suffix is never compiled twice.
using runner_cache = std::map<std::string, std::shared_ptr<segment_runner>>;

/// How a frame's suffixes use the threads.
enum class suffix_mode {
    /// One after another, each with all threads (as the stems).
    serial,
    /// Side by side after the stems, one thread each (needs thread-safe runners: the oneDNN and
    /// reference ones are).
    parallel,
};

/// The layers of consecutive segments as one graph (each segment reads the previous one's output).
[[nodiscard]] inline graph join_segments(const std::vector<const graph*>& parts) {
    graph out(parts.front()->input_shape());
    for (const graph* part : parts) {
        const value_id entry = out.last_value();
        const auto base = static_cast<value_id>(out.size());
        for (const node& n : part->nodes()) {
            std::vector<value_id> inputs;
            for (value_id v : n.inputs) inputs.push_back(v == graph_input ? entry : v + base);
            const value_id id = out.add(n.name, n.spec, std::move(inputs));
            out.bind(static_cast<std::size_t>(id), n.params);
        }
    }
    return out;
}

class execution_plan {
public:
    static constexpr std::size_t from_stream = std::numeric_limits<std::size_t>::max();

    /// A step as the plan reports it.
    struct step_info {
        bool is_stem = false;
        std::size_t parent = from_stream;  ///< step whose output this step reads
        frame_rate rate;
        std::size_t layer_begin = 0;  ///< original-model layers this step runs
        std::size_t layer_end = 0;
        std::size_t trie_nodes = 0;  ///< trie nodes joined into this stem step
        std::uint64_t phase = 0;     ///< stream frames a step reading the stream is shifted by
        std::string label;           ///< the app (suffix) or the apps below (stem)
    };

    /// Compiles the plan of `trie` with per-app `settings` (one per app of the trie) on a stream
    /// at `stream` fps. Runners found in `reuse` are shared instead of compiled again.
    execution_plan(const stem::stem_trie& trie, const app_settings_map& settings, frame_rate stream,
                   int threads, const runner_factory& factory, const runner_cache& reuse,
                   std::uint64_t version, suffix_mode suffixes = suffix_mode::serial,
                   bool share_workspace = true)
        : input_(trie.input_shape()),
          stream_(stream),
          version_(version),
          suffixes_(suffixes),
          workers_(threads == 0 ? onednn::core_count() : threads) {
        // Frame selection divides by the parent's rate (frame_rate.hpp); a default frame_rate{} is 0.
        if (stream.millifps <= 0) throw error("execution_plan", "the stream's frame rate must be positive");
        for (const auto& [name, app] : trie.apps()) {
            const auto it = settings.find(name);
            if (it == settings.end())
                throw error("execution_plan: app '" + name + "'", "has no frame rate or decision rule");
            if (it->second.rate.millifps <= 0)
                throw error("execution_plan: app '" + name + "'", "frame rate must be positive");
            if (it->second.rate > stream)
                throw error("execution_plan: app '" + name + "'",
                            "frame rate " + std::to_string(it->second.rate.fps()) +
                                " fps is above the stream's " + std::to_string(stream.fps()));
            app_rates_[name] = it->second.rate;
            if (it->second.phase != 0 && app.num_frozen != 0)
                throw error("execution_plan: app '" + name + "'",
                            "a phase needs branch point 0 (the app must read the stream itself), got " +
                                std::to_string(app.num_frozen));
            app_phases_[name] = it->second.phase;
            for (stem::node_id id : app.path) node_rate_[id] = std::max(node_rate_[id], it->second.rate);
            ending_[app.branch_node()].push_back(&app);
        }
        for (const auto& [name, app] : trie.apps()) {
            app_slot slot;
            slot.name = name;
            slot.decision = settings.find(name)->second.decision;
            const shape out = app.suffix->output_shape();
            slot.scores = tensor<float>(dims{1, out.c, out.h, out.w});
            slot.decision.validate(out.numel(), "app '" + name + "'");
            slots_.push_back(std::move(slot));
        }

        add_suffixes(stem::stem_trie::root, from_stream, threads, factory, reuse);
        for (stem::node_id child : trie.node(stem::stem_trie::root).children)
            add_stem_step(trie, child, from_stream, threads, factory, reuse);
        lay_out_memory();
        if (share_workspace && suffixes_ == suffix_mode::serial) size_workspace();

        results_.resize(slots_.size());
        for (std::size_t i = 0; i < slots_.size(); ++i) results_[i].app = slots_[i].name;
        numbers_.assign(steps_.size(), 0);
        selected_.reserve(steps_.size());
        node_rate_.clear();
        ending_.clear();
        app_rates_.clear();
        app_phases_.clear();
    }

    execution_plan(const execution_plan&) = delete;
    execution_plan& operator=(const execution_plan&) = delete;

    /// Runs stream frame number `n` (`frame` is {1, c, h, w} plain) and fills `out`. Only the
    /// stream thread calls this.
    void run(std::uint64_t n, tensor_view<const float> frame, frame_result& out) {
        if (!bound_) bind_workspace();
        out.frame = n;
        out.plan_version = version_;
        out.stem_runs = 0;
        out.suffix_runs = 0;
        for (auto& r : results_) {
            r.processed = false;
            r.scores = {};
            r.decision = -1;
            r.error = {};
        }
        for (auto& slot : slots_) slot.failure.clear();
        selected_.clear();
        std::size_t i = 0;
        while (i < steps_.size()) {
            step& s = steps_[i];
            std::uint64_t j = s.info.parent == from_stream ? n : numbers_[s.info.parent];
            const frame_rate parent_rate =
                s.info.parent == from_stream ? stream_ : steps_[s.info.parent].info.rate;
            if (!selects_with_phase(j, s.info.phase, s.info.rate, parent_rate)) {
                i = s.end;
                continue;
            }
            j -= s.info.phase;
            numbers_[i] = child_frame_number(j, s.info.rate, parent_rate);
            if (s.info.is_stem || suffixes_ == suffix_mode::serial) run_step(s, frame);
            if (s.info.is_stem)
                ++out.stem_runs;
            else
                selected_.push_back(i);
            ++i;
        }
        if (suffixes_ == suffix_mode::parallel) run_side_by_side(frame);
        for (std::size_t k : selected_) {
            const step& s = steps_[k];
            app_result& r = results_[s.app];
            if (!slots_[s.app].failure.empty()) {  // this app only: the others keep their results
                r.error = slots_[s.app].failure;
                continue;
            }
            ++out.suffix_runs;
            r.processed = true;
            r.scores = slots_[s.app].scores.values();
            r.decision = slots_[s.app].decision.decide(r.scores);
        }
        out.apps = results_;
    }

    /// Runs every step once on `frame` without counting a frame or selecting by rate: brings the
    /// plan's weights, buffers and code back into the caches after an idle gap. Overwrites the
    /// scores of the last `run` (its results are stale afterwards). Only the stream thread calls it.
    void rehearse(tensor_view<const float> frame) {
        if (!bound_) bind_workspace();
        for (step& s : steps_) run_step(s, frame);
    }

    [[nodiscard]] std::uint64_t version() const noexcept { return version_; }
    [[nodiscard]] suffix_mode suffixes() const noexcept { return suffixes_; }
    [[nodiscard]] shape input_shape() const noexcept { return input_; }
    [[nodiscard]] frame_rate stream_rate() const noexcept { return stream_; }
    [[nodiscard]] std::size_t app_count() const noexcept { return slots_.size(); }
    [[nodiscard]] std::vector<step_info> steps() const {
        std::vector<step_info> out;
        for (const auto& s : steps_) out.push_back(s.info);
        return out;
    }
    [[nodiscard]] std::size_t stem_steps() const noexcept {
        std::size_t n = 0;
        for (const auto& s : steps_) n += s.info.is_stem ? 1 : 0;
        return n;
    }
    /// Where each step writes, in step order: fixed for the plan's life.
    [[nodiscard]] std::vector<const float*> output_addresses() const {
        std::vector<const float*> out;
        for (const auto& s : steps_) out.push_back(s.out);
        return out;
    }
    /// Bytes of the activation arena, and what the stem outputs would take without reuse.
    [[nodiscard]] std::size_t arena_bytes() const noexcept { return arena_bytes_; }
    [[nodiscard]] std::size_t unshared_buffer_bytes() const noexcept { return unshared_bytes_; }
    /// Bytes of the workspace every step's runner runs in (0: each runner keeps its own, as with
    /// parallel suffixes), and what the runners would keep on their own (the sum of their needs).
    [[nodiscard]] std::size_t workspace_bytes() const noexcept { return workspace_bytes_; }
    [[nodiscard]] std::size_t runner_workspace_bytes() const {
        std::size_t sum = 0;
        for (const auto& s : steps_) sum += s.runner->workspace_bytes();
        return sum;
    }
    /// The runners this plan uses, by key (the next plan's `reuse`).
    [[nodiscard]] runner_cache runners() const {
        runner_cache out;
        for (const auto& s : steps_) out.emplace(s.key, s.runner);
        return out;
    }
    /// One line per step, indented by depth: what runs, at which rate, for whom.
    [[nodiscard]] std::string describe() const {
        std::string text;
        std::vector<std::size_t> depth(steps_.size(), 0);
        for (std::size_t i = 0; i < steps_.size(); ++i) {
            const auto& s = steps_[i].info;
            depth[i] = s.parent == from_stream ? 0 : depth[s.parent] + 1;
            text += std::string(2 * depth[i], ' ') + (s.is_stem ? "stem " : "suffix ") + "layers [" +
                    std::to_string(s.layer_begin) + ", " + std::to_string(s.layer_end) + ") at " +
                    fps_text(s.rate) + " fps: " + s.label + "\n";
        }
        return text;
    }

private:
    /// "15" or "7.5": the rate with its thousandths, trailing zeros dropped.
    static std::string fps_text(frame_rate r) {
        std::string text = std::to_string(r.millifps / 1000);
        if (const std::int64_t rest = r.millifps % 1000; rest != 0) {
            std::string frac = std::to_string(rest + 1000).substr(1);
            while (frac.back() == '0') frac.pop_back();
            text += "." + frac;
        }
        return text;
    }

    struct step;
    /// Runs one step. A stem's error propagates (every app below it lacks its input); a suffix's
    /// error is kept as its app's failure for this frame, so one app's faulty runner never costs
    /// the other apps their results.
    void run_step(step& s, tensor_view<const float> frame) {
        const tensor_view<const float> src =
            s.info.parent == from_stream
                ? frame
                : tensor_view<const float>(steps_[s.info.parent].out, steps_[s.info.parent].out_dims);
        if (s.info.is_stem) {
            s.runner->run(src, tensor_view<float>(s.out, s.out_dims));
            return;
        }
        try {
            s.runner->run(src, tensor_view<float>(s.out, s.out_dims));
        } catch (const std::exception& e) {
            slots_[s.app].failure = e.what();
            if (slots_[s.app].failure.empty()) slots_[s.app].failure = "the suffix's runner failed";
        } catch (...) {
            slots_[s.app].failure = "the suffix's runner threw a non-standard exception";
        }
    }

    /// The selected suffixes, `workers_` at a time, one thread each (a one-thread runner was
    /// compiled for that). A suffix's error stays with its app (`run_step`).
    void run_side_by_side(tensor_view<const float> frame) {
        const auto count = static_cast<std::ptrdiff_t>(selected_.size());
        if (count == 0) return;
        const int team = static_cast<int>(std::min<std::ptrdiff_t>(workers_, count));
        onednn::parallel_for(count, team, [&](std::ptrdiff_t k) {
            run_step(steps_[selected_[static_cast<std::size_t>(k)]], frame);
        });
    }

    struct step {
        step_info info;
        std::string key;
        std::shared_ptr<segment_runner> runner;
        std::size_t end = 0;  ///< one past the last descendant
        std::size_t buffer = from_stream;
        std::size_t app = from_stream;
        dims out_dims;
        float* out = nullptr;
    };
    struct app_slot {
        std::string name;
        decision_rule decision;
        tensor<float> scores;
        std::string failure;  ///< why the suffix failed on the current frame; empty when it did not
    };

    void add_suffixes(stem::node_id at, std::size_t parent, int threads, const runner_factory& factory,
                      const runner_cache& reuse) {
        const auto it = ending_.find(at);
        if (it == ending_.end()) return;
        for (const stem::trie_app* app : it->second) {
            step s;
            s.info.parent = parent;
            s.info.rate = app_rates_.at(app->name);
            s.info.phase = app_phases_.at(app->name);
            s.info.layer_begin = app->num_frozen;
            s.info.layer_end = app->layer_count;
            s.info.label = app->name;
            const int suffix_threads = suffixes_ == suffix_mode::parallel ? 1 : threads;
            s.key = "app:" + app->name + "#" + std::to_string(app->generation) + "|t" +
                    std::to_string(suffix_threads);
            if (const auto found = reuse.find(s.key); found != reuse.end())
                s.runner = found->second;
            else
                s.runner = factory(*app->suffix, suffix_threads);
            const shape out = app->suffix->output_shape();
            s.out_dims = dims{1, out.c, out.h, out.w};
            s.app = slot_of(app->name);
            s.out = slots_[s.app].scores.data();
            s.end = steps_.size() + 1;
            steps_.push_back(std::move(s));
        }
    }

    void add_stem_step(const stem::stem_trie& trie, stem::node_id start, std::size_t parent, int threads,
                       const runner_factory& factory, const runner_cache& reuse) {
        std::vector<stem::node_id> chain{start};
        while (trie.node(chain.back()).children.size() == 1 && ending_.count(chain.back()) == 0)
            chain.push_back(trie.node(chain.back()).children.front());
        const stem::trie_node& first = trie.node(start);
        const stem::trie_node& last = trie.node(chain.back());

        step s;
        s.info.is_stem = true;
        s.info.parent = parent;
        s.info.rate = node_rate_.at(start);
        s.info.layer_begin = parent == from_stream ? 0 : steps_[parent].info.layer_end;
        s.info.layer_end = last.seg.layer_end;
        s.info.trie_nodes = chain.size();
        s.key = "stem:" + stem::to_string(first.seg.id) + ":" + stem::to_string(last.seg.id) + "|t" +
                std::to_string(threads);
        std::vector<const graph*> parts;
        for (stem::node_id id : chain) parts.push_back(trie.node(id).seg.layers.get());
        if (const auto it = reuse.find(s.key); it != reuse.end())
            s.runner = it->second;
        else
            s.runner = factory(join_segments(parts), threads);
        const shape out = last.seg.layers->output_shape();
        s.out_dims = dims{1, out.c, out.h, out.w};
        const std::size_t index = steps_.size();
        steps_.push_back(std::move(s));

        add_suffixes(chain.back(), index, threads, factory, reuse);
        for (stem::node_id child : last.children) add_stem_step(trie, child, index, threads, factory, reuse);
        steps_[index].end = steps_.size();
        std::string label;
        for (std::size_t i = index + 1; i < steps_.size(); ++i)
            if (!steps_[i].info.is_stem) label += (label.empty() ? "" : ", ") + steps_[i].info.label;
        steps_[index].info.label = "shared by " + label;
    }

    void lay_out_memory() {
        liveness_plan live;
        for (std::size_t i = 0; i < steps_.size(); ++i) {
            if (!steps_[i].info.is_stem) continue;
            std::size_t last_reader = i;
            for (std::size_t j = i + 1; j < steps_[i].end; ++j)
                if (steps_[j].info.parent == i)
                    last_reader =
                        std::max(last_reader, !steps_[j].info.is_stem && suffixes_ == suffix_mode::parallel
                                                  ? steps_.size()  // suffixes run after every stem
                                                  : j);
            steps_[i].buffer = live.add(static_cast<std::size_t>(steps_[i].out_dims.numel()) * sizeof(float),
                                        i, last_reader);
        }
        live.solve();
        arena_bytes_ = live.arena_bytes();
        unshared_bytes_ = live.total_bytes();
        if (arena_bytes_ > 0)
            arena_ = tensor<float>(dims{static_cast<std::int64_t>(arena_bytes_ / sizeof(float))});
        for (auto& s : steps_)
            if (s.info.is_stem) s.out = arena_.data() + live.offset(s.buffer) / sizeof(float);
    }

    void size_workspace() {
        for (const step& s : steps_)
            workspace_bytes_ = std::max(workspace_bytes_, s.runner->workspace_bytes());
        if (workspace_bytes_ == 0) return;
        workspace_.reset(new (std::align_val_t{page}) std::byte[workspace_bytes_]);
        bound_ = false;
    }

    /// Points every step's runner at this plan's workspace. On the stream thread only: the runners
    /// may still have been running the previous plan's frame until now.
    void bind_workspace() {
        for (step& s : steps_)
            if (s.runner->workspace_bytes() > 0) s.runner->use_workspace(workspace_.get());
        bound_ = true;
    }

    [[nodiscard]] std::size_t slot_of(std::string_view name) const {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].name == name) return i;
        throw error("execution_plan: app '" + std::string(name) + "'", "has no result slot");
    }

    shape input_;
    frame_rate stream_;
    std::uint64_t version_;
    std::vector<step> steps_;
    std::vector<app_slot> slots_;
    std::vector<app_result> results_;
    std::vector<std::uint64_t> numbers_;
    std::vector<std::size_t> selected_;  // suffix steps of the frame being run
    suffix_mode suffixes_;
    int workers_;
    tensor<float> arena_;
    std::size_t arena_bytes_ = 0;
    std::size_t unshared_bytes_ = 0;
    struct aligned_bytes_delete {
        void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{page}); }
    };
    static constexpr std::size_t page = 4096;
    std::unique_ptr<std::byte[], aligned_bytes_delete> workspace_;
    std::size_t workspace_bytes_ = 0;
    bool bound_ = true;  // false until the stream thread points the runners at workspace_
    // Only used while building.
    std::map<stem::node_id, frame_rate> node_rate_;
    std::map<stem::node_id, std::vector<const stem::trie_app*>> ending_;
    std::map<std::string, frame_rate, std::less<>> app_rates_;
    std::map<std::string, std::uint64_t, std::less<>> app_phases_;
};

}  // namespace stemshare::runtime
