// Stress: apps join and leave the executor 1000 times while 10^5 frames flow (issue 19, item 3).
// A stream thread pushes frames while a control thread applies join/leave edits (apps of a tiny
// net fine-tuned from two bases at several branch points, so the stem trie gains and loses shared
// nodes). Checked afterwards, from what both threads recorded: every frame ran exactly once and in
// order, under a plan published before it began and no older than the newest plan published
// before it began; every app got results exactly for the frames its rate selects while it was
// deployed; every result is bit for bit what the app alone in an executor gives on that frame's
// image; neither thread saw an exception. tools/sanitize.sh runs both cases under TSan.
//
// Sizes: STEMSHARE_JOIN_LEAVE_FRAMES (default 100000) and STEMSHARE_JOIN_LEAVE_EDITS (default
// 1000) set them; the case prints the sizes it ran with. The defaults are the issue's; a smaller
// run must be asked for explicitly.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <stemshare/runtime/executor.hpp>

#include "../stem/stem_test_models.hpp"

namespace {

using namespace stemshare;
using namespace stemshare::runtime;
namespace models = stemshare::test_models;

using namespace stemshare::layers;

/// A tiny net (three conv blocks and a classifier): cheap enough for 10^5 frames in a few seconds,
/// with branch points 0, 3, 5, 7, 8 and 9 for apps to share stems at.
inline constexpr auto tiny_net =
    stemshare::input<2, 6, 6>                                                                           //
    | block(conv2d<{.out_channels = 4, .kernel = 3, .padding = 1, .bias = false}> | batch_norm | relu)  //
    | block(conv2d<{.out_channels = 4, .kernel = 3, .padding = 1}> | relu)                              //
    | block(conv2d<{.out_channels = 4, .kernel = 3, .padding = 1}> | relu)                              //
    | global_avg_pool | flatten | dense<{.out_features = 4}>;
static_assert(tiny_net.branch_points()[1] == 3 && tiny_net.branch_points()[2] == 5 &&
              tiny_net.branch_points()[3] == 7);

constexpr shape stream_shape{2, 6, 6};
constexpr double stream_fps = 30.0;
/// Distinct frame contents: frame n shows image n % image_count.
constexpr std::size_t image_count = 64;
/// App names the control thread draws from (at most this many apps are deployed at once).
constexpr std::size_t name_count = 6;
/// Scores per app (every model below ends in dense 4).
constexpr std::size_t score_count = 4;

/// A size from the environment variable `name`, or `fallback` when it is unset.
std::uint64_t size_from_env(const char* name, std::uint64_t fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (*end != '\0' || value == 0) FAIL(name << " must be a positive integer, got '" << text << "'");
    return value;
}

/// A model an app can run, at its branch point.
struct variant {
    std::string label;
    graph model;
    std::size_t k;
};

/// The tiny net with weights from `seed`.
graph tiny_base(std::uint64_t seed) {
    graph g = tiny_net.to_graph();
    g.bind_random(seed);
    return g;
}

/// Apps fine-tuned from base 1 at branch points 7, 7, 5, 5, 3 and 0, the first of them again at
/// 3 (the same weights, shared less), and one from base 2 at 5 (a trie branch of its own).
std::vector<variant> variants() {
    const graph base1 = tiny_base(1);
    const graph base2 = tiny_base(2);
    std::vector<variant> out;
    out.push_back({"b1 k7 s100", models::fine_tuned(base1, 7, 100), 7});
    out.push_back({"b1 k7 s200", models::fine_tuned(base1, 7, 200), 7});
    out.push_back({"b1 k5 s300", models::fine_tuned(base1, 5, 300), 5});
    out.push_back({"b1 k5 s301", models::fine_tuned(base1, 5, 301), 5});
    out.push_back({"b1 k3 s400", models::fine_tuned(base1, 3, 400), 3});
    out.push_back({"b1 k0 s500", models::fine_tuned(base1, 0, 500), 0});
    out.push_back({"b1 k7 s100 at 3", models::fine_tuned(base1, 7, 100), 3});
    out.push_back({"b2 k5 s600", models::fine_tuned(base2, 5, 600), 5});
    return out;
}

/// Image `m` of the stream ({1, 2, 6, 6}, values in [0, 1)).
tensor<float> image(std::uint64_t m) {
    tensor<float> t(dims{1, stream_shape.c, stream_shape.h, stream_shape.w});
    fill_uniform(t.values(), 1000 + m, 0.0F, 1.0F);
    return t;
}

/// What one deployed app runs: a variant at a rate (0 = every frame) and a phase (branch point 0 only).
struct deployment {
    std::size_t variant = 0;
    double fps = 0.0;
    std::uint64_t phase = 0;
};

/// The apps deployed under one plan version, and that plan's steps (what decides which frames
/// each app takes), as the control thread saw them right after publishing it.
struct published {
    std::map<std::string, deployment> apps;
    std::vector<execution_plan::step_info> steps;
    std::uint64_t frames_before = 0;  ///< frames finished when the change began
    std::uint64_t frames_after = 0;   ///< frames finished when the change had returned
};

/// The frame-selection rule restated from frame_rate.hpp (j r / p stays far below 2^64 here):
/// which apps of a plan with `steps` process stream frame `n`.
std::set<std::string> selected_apps(const std::vector<execution_plan::step_info>& steps, frame_rate stream,
                                    std::uint64_t n) {
    std::vector<bool> active(steps.size());
    std::vector<std::uint64_t> number(steps.size());
    std::set<std::string> out;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const auto& s = steps[i];
        const bool top = s.parent == execution_plan::from_stream;
        if (!top && !active[s.parent]) continue;
        const std::uint64_t parent_number = top ? n : number[s.parent];
        const auto p = static_cast<std::uint64_t>(top ? stream.millifps : steps[s.parent].rate.millifps);
        const auto r = static_cast<std::uint64_t>(s.rate.millifps);
        if (parent_number < s.phase) continue;
        const std::uint64_t j = parent_number - s.phase;
        active[i] = j == 0 || (j * r) / p > ((j - 1) * r) / p;
        number[i] = (j * r) / p;
        if (active[i] && !s.is_stem) out.insert(s.label);
    }
    return out;
}

/// One app's entry in one frame's result, as the stream thread copied it.
struct seen_app {
    std::uint8_t name = 0;  ///< index into the app names
    bool processed = false;
    bool failed = false;
    std::uint8_t size = 0;  ///< scores copied (255: the result had a wrong size)
    std::array<float, score_count> scores{};
};

/// One frame as the stream thread saw it.
struct seen_frame {
    std::uint64_t frame = 0;
    std::uint64_t version = 0;
    std::size_t first = 0;  ///< its apps: entries [first, first + count) of the app log
    std::size_t count = 0;
    std::size_t suffix_runs = 0;
};

std::string app_name(std::size_t i) {
    return "app" + std::to_string(i);
}

/// Blocks until `counter` reaches `target` (without polling: the writer notifies).
void wait_for(const std::atomic<std::uint64_t>& counter, std::uint64_t target) {
    for (std::uint64_t now = counter.load(); now < target; now = counter.load()) counter.wait(now);
}

/// Where a thread that ends (normally or not) leaves a counter the other thread waits on: at the
/// top, so no wait outlives it.
constexpr std::uint64_t ended = std::numeric_limits<std::uint64_t>::max();

/// The stress run: an executor with `threads` threads running its suffixes as `suffixes` says,
/// against each app alone in a one-thread executor.
void join_leave_stress(int threads, suffix_mode suffixes) {
    const std::uint64_t frames = size_from_env("STEMSHARE_JOIN_LEAVE_FRAMES", 100000);
    const std::uint64_t edits = size_from_env("STEMSHARE_JOIN_LEAVE_EDITS", 1000);
    // The pacing below lets the stream run half an edit interval ahead of the control thread.
    REQUIRE_MESSAGE(frames >= 8 * edits, "need at least 8 frames per edit");
    MESSAGE("join/leave stress: " << frames << " frames, " << edits << " changes, " << threads << " threads, "
                                  << std::string(suffixes == suffix_mode::parallel ? "suffixes side by side"
                                                                                   : "serial suffixes"));
    const auto started = std::chrono::steady_clock::now();

    const std::vector<variant> pool = variants();
    std::vector<tensor<float>> images;
    for (std::size_t m = 0; m < image_count; ++m) images.push_back(image(m));

    // Each variant alone in an executor of its own (same threads and backend), once per image.
    std::vector<std::vector<std::array<float, score_count>>> solo(pool.size());
    for (std::size_t v = 0; v < pool.size(); ++v) {
        executor alone({.input = stream_shape, .stream_fps = stream_fps, .threads = 1});
        alone.add_app("solo", pool[v].model, {.num_frozen = pool[v].k});
        for (const auto& image : images) {
            const frame_result& r = alone.process(image.view());
            const app_result* a = r.find("solo");
            REQUIRE(a != nullptr);
            REQUIRE(a->processed);
            REQUIRE(a->scores.size() == score_count);
            std::array<float, score_count> s{};
            std::memcpy(s.data(), a->scores.data(), sizeof s);
            solo[v].push_back(s);
        }
    }

    executor ex({.input = stream_shape, .stream_fps = stream_fps, .threads = threads, .suffixes = suffixes});
    const std::uint64_t first_version = ex.plan_version();
    std::map<std::uint64_t, published> history;  // plan version -> what it deployed
    history[first_version] = published{{}, ex.plan()->steps(), 0, 0};

    // Pacing: changes done (control -> stream) and frames done (stream -> control, notified only
    // when the control thread waits for that many). `ended` once the writer has stopped.
    std::atomic<std::uint64_t> edits_done{0};
    std::atomic<std::uint64_t> frames_done{0};
    std::atomic<std::uint64_t> frames_wanted{ended};
    std::string stream_error;
    std::string control_error;
    std::vector<seen_frame> seen;
    std::vector<seen_app> app_log;
    seen.reserve(frames);
    app_log.reserve(frames * 3);
    // The stream may run only this far ahead of the completed changes, so that every change lands
    // while frames flow and the stream cannot finish before the last change is published.
    const std::uint64_t interval = frames / edits;
    const auto await_frames = [&](std::uint64_t target) {
        frames_wanted = target;
        wait_for(frames_done, target);
    };

    std::thread stream([&] {
        try {
            for (std::uint64_t n = 0; n < frames; ++n) {
                // Frame n needs edits_done * interval + interval / 2 > n (or every change done).
                if (n >= interval / 2)
                    wait_for(edits_done, std::min(edits, (n - interval / 2) / interval + 1));
                const frame_result& r = ex.process(images[n % image_count].view());
                seen_frame f{r.frame, r.plan_version, app_log.size(), r.apps.size(), r.suffix_runs};
                for (const app_result& a : r.apps) {
                    seen_app s;
                    // "appN": name_count is below 10, so the digit is the index.
                    s.name = static_cast<std::uint8_t>(a.app.size() == 4 ? a.app[3] - '0' : 255);
                    s.processed = a.processed;
                    s.failed = !a.error.empty();
                    if (a.scores.size() == score_count) {
                        s.size = static_cast<std::uint8_t>(score_count);
                        std::memcpy(s.scores.data(), a.scores.data(), sizeof s.scores);
                    } else if (!a.scores.empty()) {
                        s.size = 255;
                    }
                    app_log.push_back(s);
                }
                seen.push_back(f);
                frames_done = n + 1;
                if (n + 1 >= frames_wanted.load()) frames_done.notify_all();
            }
        } catch (const std::exception& e) {
            stream_error = e.what();
        } catch (...) {
            stream_error = "a non-standard exception";
        }
        frames_done = ended;
        frames_done.notify_all();
    });

    std::size_t joins = 0;
    std::size_t leaves = 0;
    std::size_t moves = 0;
    std::size_t rate_changes = 0;
    std::size_t multi = 0;
    std::thread control([&] {
        try {
            std::mt19937_64 rng(19);
            const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
            const std::array<double, 4> rates{0.0, 15.0, 10.0, 7.5};
            std::map<std::string, deployment> deployed;
            const auto deploy_new = [&](const std::string& name, std::vector<executor::app_edit>& batch) {
                deployment d{pick(pool.size()), rates[pick(rates.size())], 0};
                if (pool[d.variant].k == 0) d.phase = pick(3);
                batch.push_back({name,
                                 &pool[d.variant].model,
                                 {.num_frozen = pool[d.variant].k, .fps = d.fps, .phase = d.phase},
                                 false});
                deployed[name] = d;
            };
            for (std::uint64_t i = 0; i < edits; ++i) {
                await_frames(i * interval);
                std::vector<std::string> in;
                std::vector<std::string> out;
                for (std::size_t a = 0; a < name_count; ++a)
                    (deployed.count(app_name(a)) != 0 ? in : out).push_back(app_name(a));
                std::vector<executor::app_edit> batch;
                const std::size_t changes = pick(5) == 0 ? 2 : 1;  // a fifth of the swaps carry two changes
                for (std::size_t c = 0; c < changes; ++c) {
                    const std::size_t kind = pick(10);
                    if (kind < 6 && !out.empty() && (in.size() < 2 || kind < 4)) {
                        // join a name that is not deployed
                        const std::size_t at = pick(out.size());
                        deploy_new(out[at], batch);
                        in.push_back(out[at]);
                        out.erase(out.begin() + static_cast<std::ptrdiff_t>(at));
                        ++joins;
                    } else if (kind < 8 && !in.empty()) {
                        // leave
                        const std::size_t at = pick(in.size());
                        batch.push_back({in[at], nullptr, {}, true});
                        deployed.erase(in[at]);
                        out.push_back(in[at]);
                        in.erase(in.begin() + static_cast<std::ptrdiff_t>(at));
                        ++leaves;
                    } else if (kind < 9 && !in.empty()) {
                        // the same name moves to another model or branch point in one swap
                        deploy_new(in[pick(in.size())], batch);
                        ++moves;
                    } else if (!in.empty()) {
                        const std::string& who = in[pick(in.size())];
                        const double fps = rates[pick(rates.size())];
                        batch.push_back({who, nullptr, {.fps = fps}, false});
                        deployed[who].fps = fps;
                        ++rate_changes;
                    } else {
                        const std::size_t at = pick(out.size());
                        deploy_new(out[at], batch);
                        in.push_back(out[at]);
                        out.erase(out.begin() + static_cast<std::ptrdiff_t>(at));
                        ++joins;
                    }
                }
                multi += batch.size() > 1 ? 1 : 0;
                published p;
                p.frames_before = ex.frames();
                ex.apply(batch);
                p.frames_after = ex.frames();
                const auto plan = ex.plan();
                p.apps = deployed;
                p.steps = plan->steps();
                history[plan->version()] = std::move(p);
                edits_done = i + 1;
                edits_done.notify_all();
                // One frame begun after the swap, so every version runs at least one frame.
                await_frames(history.rbegin()->second.frames_after + 2);
            }
        } catch (const std::exception& e) {
            control_error = e.what();
        } catch (...) {
            control_error = "a non-standard exception";
        }
        edits_done = ended;
        edits_done.notify_all();
    });
    stream.join();
    control.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    MESSAGE("join/leave stress: " << joins << " joins, " << leaves << " leaves, " << moves << " moves, "
                                  << rate_changes << " rate changes in " << edits << " swaps (" << multi
                                  << " with two changes), " << seconds << " s");

    CHECK_MESSAGE(stream_error.empty(), "stream thread: " << stream_error);
    CHECK_MESSAGE(control_error.empty(), "control thread: " << control_error);
    REQUIRE(history.size() == edits + 1);
    REQUIRE(seen.size() == frames);
    CHECK(ex.frames() == frames);

    // Every frame exactly once, in order; versions never go back, and every change ran frames.
    std::set<std::uint64_t> versions_seen;
    std::set<std::vector<std::pair<std::size_t, std::size_t>>> stem_layouts;
    for (const auto& [version, p] : history) {
        std::vector<std::pair<std::size_t, std::size_t>> stems;
        for (const auto& s : p.steps)
            if (s.is_stem) stems.emplace_back(s.layer_begin, s.layer_end);
        stem_layouts.insert(stems);
    }
    // The trie really changed: stems were cut at many different places over the run.
    CHECK(stem_layouts.size() >= std::min<std::uint64_t>(10, edits / 10));

    const frame_rate stream_rate = frame_rate::from_fps(stream_fps, "stream");
    std::map<std::string, std::vector<std::uint64_t>> got;  // app -> frames it had results for
    std::map<std::string, std::vector<std::uint64_t>>
        expected;  // app -> frames its rate selects while deployed
    std::size_t mismatches = 0;
    std::size_t bad_entries = 0;
    std::size_t wrong_sets = 0;
    std::size_t wrong_counts = 0;
    std::size_t early = 0;  // frames that ran a plan published only after they had finished
    std::size_t late = 0;   // frames begun after a newer plan was published that still ran an older one
    std::string first_timing;
    std::uint64_t results = 0;
    for (std::uint64_t n = 0; n < frames; ++n) {
        const seen_frame& f = seen[n];
        REQUIRE_MESSAGE(f.frame == n, "frame " << n << " came back numbered " << f.frame);
        if (n > 0) REQUIRE_MESSAGE(f.version >= seen[n - 1].version, "frame " << n << " ran an older plan");
        const auto it = history.find(f.version);
        REQUIRE_MESSAGE(it != history.end(),
                        "frame " << n << " ran plan " << f.version << ", never published");
        versions_seen.insert(f.version);
        // Frames finished before a change began ran an older plan; frames begun after it returned
        // ran it or a newer one (frame frames_after may have been in flight during the swap).
        if (it != history.begin() && n < it->second.frames_before) {
            if (early == 0)
                first_timing = "frame " + std::to_string(n) + " ran plan " + std::to_string(f.version) +
                               ", published after it finished";
            ++early;
        }
        if (const auto next = std::next(it); next != history.end() && n > next->second.frames_after) {
            if (late == 0)
                first_timing = "frame " + std::to_string(n) + " ran plan " + std::to_string(f.version) +
                               " though plan " + std::to_string(next->first) + " was published when " +
                               std::to_string(next->second.frames_after) + " frames had finished";
            ++late;
        }

        const published& p = it->second;
        const std::set<std::string> selected = selected_apps(p.steps, stream_rate, n);
        std::set<std::string> present;
        std::size_t processed = 0;
        for (std::size_t e = f.first; e < f.first + f.count; ++e) {
            const seen_app& a = app_log[e];
            if (a.name >= name_count || a.failed || (a.processed && a.size != score_count)) {
                ++bad_entries;
                continue;
            }
            const std::string name = app_name(a.name);
            if (!present.insert(name).second) ++bad_entries;  // an app listed twice in one frame
            if (!a.processed) continue;
            ++processed;
            got[name].push_back(n);
            const auto d = p.apps.find(name);
            if (d == p.apps.end()) continue;  // counted by the set check below
            if (std::memcmp(a.scores.data(), solo[d->second.variant][n % image_count].data(),
                            sizeof a.scores) != 0)
                ++mismatches;
        }
        results += processed;
        std::set<std::string> deployed;
        for (const auto& [name, d] : p.apps) deployed.insert(name);
        for (const std::string& name : selected) expected[name].push_back(n);
        if (present != deployed) ++wrong_sets;
        if (processed != f.suffix_runs) ++wrong_counts;
    }
    CHECK_MESSAGE(early == 0, first_timing);
    CHECK_MESSAGE(late == 0, first_timing);
    CHECK_MESSAGE(bad_entries == 0, "results that failed, were listed twice or had a wrong size");
    CHECK_MESSAGE(wrong_sets == 0, "frames whose app list was not the plan's deployed apps");
    CHECK_MESSAGE(wrong_counts == 0, "frames whose suffix count disagrees with their results");
    CHECK_MESSAGE(mismatches == 0, "results that differ from the app run alone");
    // Every change ran at least one frame (the control thread waited for it).
    for (auto it = std::next(history.begin()); it != history.end(); ++it)
        CHECK_MESSAGE(versions_seen.count(it->first) == 1, "plan " << it->first << " ran no frame");
    // Per app: results exactly for the frames its rate selects while it is deployed, each once.
    for (std::size_t a = 0; a < name_count; ++a) {
        const std::string name = app_name(a);
        CAPTURE(name);
        CHECK(got[name] == expected[name]);
    }
    CHECK(results > frames);  // several apps on most frames: the run shared stems, it did not idle
    MESSAGE("join/leave stress: " << results << " app results over " << versions_seen.size() << " plans, "
                                  << stem_layouts.size() << " distinct stem layouts");
}

}  // namespace

TEST_CASE(
    "executor: apps join and leave while frames flow, no frame lost or run twice, results equal solo runs") {
    join_leave_stress(1, suffix_mode::serial);
}

TEST_CASE(
    "executor: apps join and leave while frames flow with suffixes side by side, results equal solo runs") {
    // Two threads: stems use both, suffixes run two at a time (one thread each).
    join_leave_stress(2, suffix_mode::parallel);
}
