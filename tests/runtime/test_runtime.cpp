// Runtime: shared vs unshared parity, frame selection, plan structure and runner reuse, hot-swap
// under a running stream, bad input, and allocation counting (the suite's operator new counts,
// see tests/support/allocation_counter.cpp). The liveness plan's own tests are in tests/core.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/backend/reference/reference_runner.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/runtime/frame_wait.hpp>

#include "../stem/stem_test_models.hpp"
#include "support/allocation_counter.hpp"
#include "support/error_of.hpp"

namespace {

using namespace stemshare;
using namespace stemshare::runtime;
namespace models = stemshare::test_models;

constexpr shape stream_shape{3, 16, 16};

/// Counts runner calls, compilations, and the allocations made inside the backend's run.
struct run_counters {
    std::atomic<std::uint64_t> calls{0};
    std::atomic<std::uint64_t> compiled{0};
    std::atomic<std::uint64_t> backend_allocations{0};
};

class counting_runner final : public segment_runner {
public:
    counting_runner(std::unique_ptr<segment_runner> inner, run_counters& counters)
        : inner_(std::move(inner)), counters_(counters) {}
    void run(tensor_view<const float> src, tensor_view<float> dst) override {
        const std::uint64_t before = test::allocation_count();
        inner_->run(src, dst);
        counters_.backend_allocations += test::allocation_count() - before;
        ++counters_.calls;
    }
    [[nodiscard]] std::size_t workspace_bytes() const override { return inner_->workspace_bytes(); }
    void use_workspace(std::byte* bytes) override { inner_->use_workspace(bytes); }

private:
    std::unique_ptr<segment_runner> inner_;
    run_counters& counters_;
};

runner_factory counting(runner_factory inner, run_counters& counters) {
    return [inner = std::move(inner), &counters](const graph& g,
                                                 int threads) -> std::unique_ptr<segment_runner> {
        ++counters.compiled;
        return std::make_unique<counting_runner>(inner(g, threads), counters);
    };
}

struct app_def {
    std::string name;
    std::size_t k;
    std::uint64_t seed;
};

/// Five apps fine-tuned from one base at depths 11, 11, 8, 3 and 0.
std::vector<app_def> five_apps() {
    return {{"a", 11, 100}, {"b", 11, 200}, {"c", 8, 300}, {"d", 3, 400}, {"e", 0, 500}};
}

bool bit_equal(std::span<const float> x, std::span<const float> y) {
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size_bytes()) == 0;
}

using test::error_of;

/// The documented frame-selection rule, restated from frame_rate.hpp: of a parent's frames
/// j = 0, 1, ..., a step at rate r under a parent at rate p takes j when
/// floor(j r / p) > floor((j - 1) r / p), numbering it floor(j r / p).
std::set<std::string> expected_apps(const execution_plan& plan, std::uint64_t n) {
    const auto steps = plan.steps();
    std::vector<bool> active(steps.size());
    std::vector<std::uint64_t> number(steps.size());
    std::set<std::string> out;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const bool from_stream = steps[i].parent == execution_plan::from_stream;
        const std::uint64_t j = from_stream ? n : number[steps[i].parent];
        const auto p = static_cast<std::uint64_t>(from_stream ? plan.stream_rate().millifps
                                                              : steps[steps[i].parent].rate.millifps);
        const auto r = static_cast<std::uint64_t>(steps[i].rate.millifps);
        const bool parent_active = from_stream || active[steps[i].parent];
        active[i] = parent_active && (j == 0 || (j * r) / p > ((j - 1) * r) / p);
        number[i] = (j * r) / p;
        if (active[i] && !steps[i].is_stem) out.insert(steps[i].label);
    }
    return out;
}

}  // namespace

TEST_CASE("frame_rate: selection follows floor(j r / p), hand-computed") {
    const frame_rate f15{15000};
    const auto taken = [&](frame_rate r, std::uint64_t frames) {
        std::vector<std::uint64_t> out;
        for (std::uint64_t j = 0; j < frames; ++j)
            if (selects(j, r, f15)) out.push_back(j);
        return out;
    };
    CHECK(taken(frame_rate{5000}, 15) == std::vector<std::uint64_t>{0, 3, 6, 9, 12});
    CHECK(taken(frame_rate{6000}, 15) == std::vector<std::uint64_t>{0, 3, 5, 8, 10, 13});
    CHECK(taken(f15, 4) == std::vector<std::uint64_t>{0, 1, 2, 3});
    CHECK(taken(frame_rate{500}, 61) == std::vector<std::uint64_t>{0, 30, 60});
    CHECK(child_frame_number(13, frame_rate{6000}, f15) == 5);
    // Exactly r/p of the frames over a long run.
    CHECK(taken(frame_rate{7000}, 1500).size() == 700);
    CHECK(frame_rate::from_fps(0.1, "x").millifps == 100);
    CHECK(error_of([] { (void)frame_rate::from_fps(0.0, "app 'z'"); }).find("app 'z'") != std::string::npos);
}

TEST_CASE("frame_rate: frame numbers of 10 years of a 1000 fps stream and beyond select exactly") {
    // 10 years at 1000 fps: 3.15e11 frames. At the largest rates (1e6 fps = 1e9 millifps) j x r
    // would overflow 64 bits after 1.8e10 frames; the rule must stay exact (and periodic) there.
    const std::uint64_t ten_years = 10ULL * 365 * 24 * 3600 * 1000;
    const frame_rate stream{1'000'000'000};
    const frame_rate child{333'333'333};
    for (std::uint64_t base : {ten_years, std::uint64_t{1} << 40U, (std::uint64_t{1} << 62U) + 7}) {
        CAPTURE(base);
        // Frame selection repeats with period p / gcd(r, p) = 1e9 / 1 frames: shifting the frame
        // number by a multiple of the period shifts the child's number by r per period.
        const std::uint64_t period = 1'000'000'000;
        const std::uint64_t shift = base / period * period;
        for (std::uint64_t k = 0; k < 64; ++k) {
            const std::uint64_t j = shift + k;
            CHECK(selects(j, child, stream) == selects(k, child, stream));
            CHECK(child_frame_number(j, child, stream) ==
                  child_frame_number(k, child, stream) + shift / period * 333'333'333);
        }
    }
    // And a 1000 fps stream at 999 fps over 10 years keeps exactly 999 of every 1000 frames.
    const frame_rate f1000{1'000'000};
    const frame_rate f999{999'000};
    std::uint64_t taken = 0;
    for (std::uint64_t j = ten_years; j < ten_years + 1000; ++j) taken += selects(j, f999, f1000) ? 1 : 0;
    CHECK(taken == 999);
}

TEST_CASE("decision_rule: argmax takes the first largest score, threshold compares one score") {
    const std::vector<float> s{0.1F, 0.7F, 0.7F, 0.2F};
    CHECK(decision_rule::argmax().decide(s) == 1);
    CHECK(decision_rule::above(0.5F, 3).decide(s) == 0);
    CHECK(decision_rule::above(0.2F, 3).decide(s) == 1);
    CHECK(error_of([] { decision_rule::above(0.5F, 4).validate(4, "app 'q'"); }).find("app 'q'") !=
          std::string::npos);
}

namespace {

/// Largest |x - y| relative to the largest |y|.
double relative_gap(std::span<const float> x, std::span<const float> y) {
    double gap = 0;
    double scale = 1e-30;
    for (std::size_t i = 0; i < x.size(); ++i) {
        gap = std::max(gap, static_cast<double>(std::abs(x[i] - y[i])));
        scale = std::max(scale, static_cast<double>(std::abs(y[i])));
    }
    return gap / scale;
}

/// Runs `defs` in one executor (sharing; `threads` and `suffixes` as given) and each app in an
/// executor of its own (no sharing possible, one thread), and checks every app's scores over a
/// few frames: bit-identical when `bitwise`, else within 1e-5. Also checks each app against its
/// whole model compiled at once.
void compare_shared_with_unshared(const std::vector<app_def>& defs, const runner_factory& factory,
                                  bool bitwise, int threads = 1, suffix_mode suffixes = suffix_mode::serial) {
    const graph base = models::base_model(1);
    std::map<std::string, graph> apps;
    for (const auto& a : defs) apps.emplace(a.name, models::fine_tuned(base, a.k, a.seed));
    executor shared({.input = stream_shape,
                     .stream_fps = 30,
                     .threads = threads,
                     .runners = factory,
                     .suffixes = suffixes});
    std::map<std::string, std::unique_ptr<executor>> alone;
    std::map<std::string, std::unique_ptr<onednn::compiled_graph>> whole;
    for (const auto& a : defs) {
        shared.add_app(a.name, apps.at(a.name), {.num_frozen = a.k});
        alone[a.name] = std::make_unique<executor>(
            executor_options{.input = stream_shape, .stream_fps = 30, .threads = 1, .runners = factory});
        alone[a.name]->add_app(a.name, apps.at(a.name), {.num_frozen = a.k});
        whole[a.name] =
            std::make_unique<onednn::compiled_graph>(apps.at(a.name), onednn::compile_options{.threads = 1});
    }
    CHECK(shared.report().flops_saved > 0);
    for (std::uint64_t f = 0; f < 4; ++f) {
        const tensor<float> frame = models::frame(f + 1);
        const frame_result& r = shared.process(frame.view());
        REQUIRE(r.apps.size() == defs.size());
        CHECK(r.stem_runs == shared.plan()->stem_steps());
        CHECK(r.suffix_runs == defs.size());
        for (const auto& a : defs) {
            CAPTURE(a.name);
            const app_result* mine = r.find(a.name);
            REQUIRE(mine != nullptr);
            REQUIRE(mine->processed);
            const frame_result& solo = alone.at(a.name)->process(frame.view());
            if (bitwise) CHECK(bit_equal(mine->scores, solo.find(a.name)->scores));
            CHECK(relative_gap(mine->scores, solo.find(a.name)->scores) < 1e-5);
            CHECK(mine->decision == solo.find(a.name)->decision);
            const tensor<float> expected = whole.at(a.name)->run(frame.view());
            CHECK(relative_gap(mine->scores, expected.values()) < 1e-5);
        }
    }
}

}  // namespace

TEST_CASE("executor: shared and unshared execution give bit-identical outputs per app (reference backend)") {
    // Apps at depths 11, 11, 8, 3, 0: the shared plan cuts at 3, 8 and 11, each app alone only at its k.
    compare_shared_with_unshared(five_apps(), reference_runners(), /*bitwise=*/true);
}

TEST_CASE("executor: shared and unshared execution give bit-identical outputs per app (oneDNN, same cuts)") {
    // All apps at one depth: shared and unshared plans cut at the same place.
    compare_shared_with_unshared({{"a", 8, 100}, {"b", 8, 200}, {"c", 8, 300}}, onednn_runners(),
                                 /*bitwise=*/true);
}

TEST_CASE(
    "executor: shared and unshared execution give bit-identical outputs per app (oneDNN, different cuts)") {
    // The shared plan cuts at 3 and 8 for apps a and b, each app alone only at its own k. oneDNN
    // picks kernels by the layout a segment receives; the backend converts a segment's input to the
    // layout its convolutions use (as inside the whole model), so a cut changes no kernel and no bit.
    compare_shared_with_unshared(five_apps(), onednn_runners(), /*bitwise=*/true);
}

TEST_CASE("executor: suffixes side by side give the same bits as unshared apps run alone") {
    // Two threads: stems use both, then the five suffixes run two at a time, one thread each,
    // while the stem outputs they read stay live (the plan cuts at 3, 8 and 11).
    compare_shared_with_unshared(five_apps(), onednn_runners(), /*bitwise=*/true, 2, suffix_mode::parallel);
    compare_shared_with_unshared(five_apps(), reference_runners(), /*bitwise=*/true, 2,
                                 suffix_mode::parallel);
}

TEST_CASE("executor: a suffix that throws fails only its own app for that frame, serial or side by side") {
    const graph base = models::base_model(1);
    struct failing_runner final : segment_runner {
        failing_runner(std::unique_ptr<segment_runner> inner, std::atomic<bool>& fail)
            : inner_(std::move(inner)), fail_(fail) {}
        void run(tensor_view<const float> src, tensor_view<float> dst) override {
            if (fail_.load()) throw error("test runner", "deliberate failure");
            inner_->run(src, dst);
        }
        std::unique_ptr<segment_runner> inner_;
        std::atomic<bool>& fail_;
    };
    for (suffix_mode mode : {suffix_mode::serial, suffix_mode::parallel}) {
        CAPTURE(static_cast<int>(mode));
        std::atomic<bool> fail{false};
        // App "a"'s suffix is the only segment of more than one layer that ends in the classifier.
        const runner_factory factory = [&fail, &base](const graph& g,
                                                      int threads) -> std::unique_ptr<segment_runner> {
            auto inner = onednn_runners()(g, threads);
            if (g.size() == 1 || !(g.output_shape() == base.output_shape())) return inner;
            return std::make_unique<failing_runner>(std::move(inner), fail);
        };
        const executor_options options{
            .input = stream_shape, .stream_fps = 15, .threads = 2, .runners = factory, .suffixes = mode};
        executor ex(options);
        executor twin({.input = stream_shape,
                       .stream_fps = 15,
                       .threads = 2,
                       .runners = onednn_runners(),
                       .suffixes = mode});
        for (executor* e : {&ex, &twin}) {
            e->add_app("a", models::fine_tuned(base, 8, 100), {.num_frozen = 8});
            e->add_app("b", models::fine_tuned(base, base.size() - 1, 200), {.num_frozen = base.size() - 1});
        }
        CHECK(ex.process(models::frame(1).view()).suffix_runs == 2);
        (void)twin.process(models::frame(1).view());
        fail = true;
        const frame_result& failed = ex.process(models::frame(2).view());
        const frame_result& expected = twin.process(models::frame(2).view());
        CHECK(failed.frame == 1);
        CHECK(failed.suffix_runs == 1);
        REQUIRE(failed.find("a") != nullptr);
        CHECK_FALSE(failed.find("a")->processed);
        CHECK(std::string(failed.find("a")->error).find("deliberate failure") != std::string::npos);
        REQUIRE(failed.find("b") != nullptr);
        CHECK(failed.find("b")->processed);
        CHECK(failed.find("b")->error.empty());
        const auto got = failed.find("b")->scores;
        const auto want = expected.find("b")->scores;
        REQUIRE(got.size() == want.size());
        CHECK(std::equal(got.begin(), got.end(), want.begin()));  // b's result is exactly a solo run's
        fail = false;
        const frame_result& r = ex.process(models::frame(3).view());
        CHECK(r.frame == 2);
        CHECK(r.find("a")->processed);
        CHECK(r.find("a")->error.empty());
    }
}

TEST_CASE("executor: five apps on one stem run the stem once per frame") {
    const graph base = models::base_model(1);
    run_counters counters;
    executor ex({.input = stream_shape,
                 .stream_fps = 15,
                 .threads = 1,
                 .runners = counting(onednn_runners(), counters)});
    for (int i = 0; i < 5; ++i)
        ex.add_app("app" + std::to_string(i),
                   models::fine_tuned(base, 11, 10 + static_cast<std::uint64_t>(i)), {.num_frozen = 11});
    REQUIRE(ex.plan()->stem_steps() == 1);
    const auto steps = ex.plan()->steps();
    CHECK(steps.front().is_stem);
    CHECK(steps.front().layer_end == 11);
    CHECK(steps.front().trie_nodes == ex.trie().node_count());
    const std::uint64_t calls_before = counters.calls;
    for (std::uint64_t f = 0; f < 10; ++f) {
        const frame_result& r = ex.process(models::frame(f).view());
        CHECK(r.stem_runs == 1);
        CHECK(r.suffix_runs == 5);
    }
    CHECK(counters.calls - calls_before == 10 * (1 + 5));  // unshared would be 10 x (5 + 5)
}

TEST_CASE("executor: plan steps join unbranched trie nodes and reuse compiled runners across changes") {
    const graph base = models::base_model(1);
    run_counters counters;
    executor ex({.input = stream_shape,
                 .stream_fps = 15,
                 .threads = 1,
                 .runners = counting(onednn_runners(), counters)});
    ex.add_app("a", models::fine_tuned(base, 11, 100), {.num_frozen = 11});
    ex.add_app("b", models::fine_tuned(base, 11, 200), {.num_frozen = 11});
    ex.add_app("d", models::fine_tuned(base, 3, 400), {.num_frozen = 3});
    auto steps = ex.plan()->steps();
    // stem [0,3) -> suffix d, stem [3,11) -> suffixes a, b.
    REQUIRE(steps.size() == 5);
    CHECK((steps[0].is_stem && steps[0].layer_begin == 0 && steps[0].layer_end == 3));
    CHECK((!steps[1].is_stem && steps[1].label == "d" && steps[1].parent == 0));
    CHECK(
        (steps[2].is_stem && steps[2].layer_begin == 3 && steps[2].layer_end == 11 && steps[2].parent == 0));
    CHECK((steps[3].label == "a" && steps[4].label == "b" && steps[3].parent == 2));

    // Same depth as a and b: only the new suffix is compiled.
    std::uint64_t compiled = counters.compiled;
    ex.add_app("b2", models::fine_tuned(base, 11, 250), {.num_frozen = 11});
    CHECK(counters.compiled - compiled == 1);
    // Branching at 8 splits stem [3,11) into [3,8) and [8,11): two stems and one suffix.
    compiled = counters.compiled;
    ex.add_app("c", models::fine_tuned(base, 8, 300), {.num_frozen = 8});
    CHECK(counters.compiled - compiled == 3);
    CHECK(ex.plan()->stem_steps() == 3);
    // A rate change recompiles nothing, nor does setting the thread count it already has.
    compiled = counters.compiled;
    ex.set_fps("c", 5);
    CHECK(counters.compiled == compiled);
    ex.set_threads(1);
    CHECK(counters.compiled == compiled);
    // Removing c joins [3,8) and [8,11) back into [3,11), compiled again: a plan keeps only the
    // runners it uses, so memory does not grow with past plans.
    compiled = counters.compiled;
    ex.remove_app("c");
    CHECK(counters.compiled - compiled == 1);
    CHECK(ex.plan()->stem_steps() == 2);
    CHECK(ex.plan()->arena_bytes() <= ex.plan()->unshared_buffer_bytes());
    CHECK_FALSE(ex.plan()->describe().empty());
}

TEST_CASE("executor: each app processes exactly its rate, a stem runs at the highest rate below it") {
    suffix_mode mode = suffix_mode::serial;
    SUBCASE("suffixes one after another") {
        mode = suffix_mode::serial;
    }
    SUBCASE("suffixes side by side") {
        mode = suffix_mode::parallel;
    }
    const graph base = models::base_model(1);
    executor ex({.input = stream_shape, .stream_fps = 15, .threads = 2, .suffixes = mode});
    ex.add_app("five", models::fine_tuned(base, 11, 100), {.num_frozen = 11, .fps = 5});
    ex.add_app("three", models::fine_tuned(base, 11, 200), {.num_frozen = 11, .fps = 3});
    std::vector<std::uint64_t> five;
    std::vector<std::uint64_t> three;
    std::size_t stem_runs = 0;
    for (std::uint64_t n = 0; n < 150; ++n) {
        const frame_result& r = ex.process(models::frame(n % 4).view());
        stem_runs += r.stem_runs;
        if (r.find("five")->processed) five.push_back(n);
        if (r.find("three")->processed) {
            three.push_back(n);
            CHECK(r.find("five")->processed);  // nested: the stem ran for it anyway
        }
        if (!r.find("five")->processed) CHECK(r.find("five")->decision == -1);
    }
    CHECK(stem_runs == 50);
    CHECK(five.size() == 50);
    CHECK(three.size() == 30);
    CHECK(std::vector<std::uint64_t>(five.begin(), five.begin() + 4) ==
          std::vector<std::uint64_t>{0, 3, 6, 9});
    // Stem frames j = n / 3; "three" takes j = 0, 2, 4, 5, 7, 9, 10: n = 0, 6, 12, 15, 21, 27, 30.
    CHECK(std::vector<std::uint64_t>(three.begin(), three.begin() + 7) ==
          std::vector<std::uint64_t>{0, 6, 12, 15, 21, 27, 30});
}

TEST_CASE("executor: hot-swap under a running stream loses no frame accounting") {
    const graph base = models::base_model(1);
    std::map<std::string, graph> variants;
    variants.emplace("k11", models::fine_tuned(base, 11, 100));
    variants.emplace("k8", models::fine_tuned(base, 8, 100));
    variants.emplace("k3", models::fine_tuned(base, 3, 300));
    variants.emplace("k0", models::fine_tuned(base, 0, 400));

    executor ex({.input = stream_shape, .stream_fps = 15, .threads = 1});
    std::map<std::uint64_t, std::shared_ptr<const execution_plan>> plans;
    std::map<std::uint64_t, std::map<std::string, std::string>> variant_of;  // version -> app -> variant
    std::map<std::string, std::string> deployed;
    plans[ex.plan()->version()] = ex.plan();
    variant_of[ex.plan()->version()] = deployed;

    struct record {
        std::uint64_t frame;
        std::uint64_t version;
        std::map<std::string, std::vector<float>> scores;  // processed apps only
        std::set<std::string> present;
    };
    std::vector<record> records;
    std::atomic<bool> changes_done{false};
    std::atomic<std::uint64_t> final_version{0};
    constexpr std::uint64_t min_frames = 300;

    std::thread stream([&] {
        // Runs until the changes are over, at least min_frames frames, and one frame under the last plan.
        for (std::uint64_t n = 0;
             !changes_done.load() || n < min_frames || records.back().version != final_version.load(); ++n) {
            const tensor<float> frame = models::frame(n % 7);
            const frame_result& r = ex.process(frame.view());
            record rec{r.frame, r.plan_version, {}, {}};
            for (const auto& a : r.apps) {
                rec.present.insert(std::string(a.app));
                if (a.processed) rec.scores[std::string(a.app)].assign(a.scores.begin(), a.scores.end());
            }
            records.push_back(std::move(rec));
        }
    });

    const auto apply = [&](auto&& change) {
        change();
        const auto plan = ex.plan();
        plans[plan->version()] = plan;
        variant_of[plan->version()] = deployed;
        // Let the stream start a frame under the new plan before the next change (a fixed sleep
        // was not enough on a loaded machine): the frame in flight ends, the next one begins
        // after the swap. Bounded, so a stream that stalls fails the checks below, not the run.
        const std::uint64_t seen = ex.frames();
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (ex.frames() < seen + 2 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    apply([&] {
        ex.add_app("x", variants.at("k11"), {.num_frozen = 11, .fps = 5});
        deployed["x"] = "k11";
    });
    apply([&] {
        ex.add_app("y", variants.at("k3"), {.num_frozen = 3, .fps = 15});
        deployed["y"] = "k3";
    });
    apply([&] {
        ex.add_app("z", variants.at("k0"), {.num_frozen = 0, .fps = 2});
        deployed["z"] = "k0";
    });
    apply([&] { ex.set_fps("x", 7.5); });
    apply([&] {
        ex.replace_app("x", variants.at("k8"), {.num_frozen = 8, .fps = 3});
        deployed["x"] = "k8";
    });
    apply([&] {
        ex.remove_app("y");
        deployed.erase("y");
    });
    apply([&] {
        ex.add_app("y", variants.at("k11"), {.num_frozen = 11, .fps = 1});
        deployed["y"] = "k11";
    });
    apply([&] { ex.set_threads(1); });
    apply([&] {
        ex.remove_app("z");
        deployed.erase("z");
    });
    final_version = ex.plan_version();
    changes_done = true;
    stream.join();

    REQUIRE(records.size() >= min_frames);
    CHECK(ex.frames() == records.size());
    std::map<std::string, std::unique_ptr<onednn::compiled_graph>> whole;
    for (const auto& [name, g] : variants)
        whole[name] = std::make_unique<onednn::compiled_graph>(g, onednn::compile_options{.threads = 1});
    std::set<std::uint64_t> versions_seen;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const record& rec = records[i];
        CAPTURE(rec.frame);
        REQUIRE(rec.frame == i);  // every frame once, in order, across swaps
        if (i > 0) REQUIRE(rec.version >= records[i - 1].version);
        versions_seen.insert(rec.version);
        REQUIRE(plans.count(rec.version) == 1);
        const auto& plan = *plans.at(rec.version);
        std::set<std::string> in_plan;
        for (const auto& [name, v] : variant_of.at(rec.version)) in_plan.insert(name);
        CHECK(rec.present == in_plan);
        std::set<std::string> processed;
        for (const auto& [name, s] : rec.scores) processed.insert(name);
        CHECK(processed == expected_apps(plan, rec.frame));
        if (i % 5 == 0) {
            for (const auto& [name, s] : rec.scores) {
                const tensor<float> expected =
                    whole.at(variant_of.at(rec.version).at(name))->run(models::frame(rec.frame % 7).view());
                CHECK(relative_gap(s, expected.values()) < 1e-5);
            }
        }
    }
    // The stream ran through the swaps: it saw the last plan and several before it.
    CHECK(versions_seen.count(plans.rbegin()->first) == 1);
    CHECK(versions_seen.size() >= 3);
}

TEST_CASE("executor: bad input gives a clear error and leaves the plan and trie unchanged") {
    const graph base = models::base_model(1);
    executor ex({.input = stream_shape, .stream_fps = 15, .threads = 1});
    ex.add_app("a", models::fine_tuned(base, 11, 100), {.num_frozen = 11});
    ex.add_app("b", models::fine_tuned(base, 8, 200), {.num_frozen = 8, .fps = 5});
    const tensor<float> frame = models::frame(3);
    const frame_result& first = ex.process(frame.view());
    const std::vector<float> before(first.find("a")->scores.begin(), first.find("a")->scores.end());
    const std::uint64_t version = ex.plan_version();
    const auto state = [&] {
        const auto t = ex.trie();
        std::vector<std::uint64_t> out{t.node_count(), t.apps().size()};
        for (const auto& [id, n] : t.nodes()) out.push_back(id * 1000 + n.apps);
        return out;
    };
    const auto trie_before = state();

    graph gray(shape{1, 16, 16});
    gray.add("conv", conv2d_spec{.out_channels = 4, .kernel = 3, .padding = 1});
    gray.add("fc", dense_spec{.out_features = 2});
    gray.bind_random(4);
    std::string msg = error_of([&] { ex.add_app("gray", gray, {.num_frozen = 1}); });
    CHECK(msg.find("app 'gray'") != std::string::npos);
    CHECK(msg.find("does not match the stream") != std::string::npos);
    msg = error_of([&] { ex.add_app("c", base, {.num_frozen = 40}); });
    CHECK(msg.find("app 'c'") != std::string::npos);
    CHECK(msg.find("outside the model") != std::string::npos);
    msg = error_of([&] { ex.add_app("c", base, {.num_frozen = 5}); });
    CHECK(msg.find("not a branch point") != std::string::npos);
    msg = error_of([&] { ex.add_app("c", base, {.num_frozen = 3, .fps = 16}); });
    CHECK(msg.find("above the stream") != std::string::npos);
    msg = error_of(
        [&] { ex.add_app("c", base, {.num_frozen = 3, .decision = decision_rule::above(0.5F, 9)}); });
    CHECK(msg.find("app 'c'") != std::string::npos);
    msg = error_of([&] { ex.remove_app("nobody"); });
    CHECK(msg.find("app 'nobody'") != std::string::npos);
    CHECK(msg.find("not deployed") != std::string::npos);
    CHECK(error_of([&] { ex.set_fps("nobody", 3); }).find("app 'nobody'") != std::string::npos);
    CHECK(error_of([&] { ex.replace_app("nobody", base, {.num_frozen = 3}); }).find("not deployed") !=
          std::string::npos);
    CHECK(error_of([&] { ex.replace_app("a", base, {.num_frozen = 6}); }).find("not a branch point") !=
          std::string::npos);
    CHECK(error_of([&] { ex.add_app("a", base, {.num_frozen = 3}); }).find("already deployed") !=
          std::string::npos);
    CHECK(error_of([&] { ex.set_threads(-1); }).find("thread count") != std::string::npos);
    msg = error_of([&] {
        ex.add_app(
            "c", base,
            {.num_frozen = 3, .decision = decision_rule::above(std::numeric_limits<float>::quiet_NaN())});
    });
    CHECK(msg.find("app 'c'") != std::string::npos);
    CHECK(msg.find("decision threshold is NaN") != std::string::npos);
    // The plan is public: a zero (default) frame rate would divide by zero in frame selection.
    const stem::stem_trie trie = ex.trie();
    app_settings_map zero_rates;
    for (const auto& [name, app] : trie.apps()) zero_rates[name] = app_settings{};
    CHECK(error_of([&] {
              execution_plan(trie, zero_rates, frame_rate::from_fps(15, "stream"), 1, onednn_runners(), {},
                             1);
          }).find("frame rate must be positive") != std::string::npos);
    const tensor<float> wrong(dims{1, 3, 8, 8});
    CHECK(error_of([&] { (void)ex.process(wrong.view()); }).find("{1, 3, 8, 8}") != std::string::npos);

    CHECK(ex.plan_version() == version);
    CHECK(state() == trie_before);
    const frame_result& r = ex.process(frame.view());
    CHECK(r.plan_version == version);
    CHECK(r.apps.size() == 2);
    CHECK(bit_equal(r.find("a")->scores, before));
}

TEST_CASE("executor: no allocation per frame in steady state outside the backend") {
    const graph base = models::base_model(1);
    run_counters counters;
    executor ex({.input = stream_shape,
                 .stream_fps = 15,
                 .threads = 1,
                 .runners = counting(onednn_runners(), counters)});
    for (const auto& a : five_apps())
        ex.add_app(a.name, models::fine_tuned(base, a.k, a.seed),
                   {.num_frozen = a.k, .fps = a.k == 3 ? 5.0 : 0.0});
    const tensor<float> frame = models::frame(1);
    for (int i = 0; i < 3; ++i) (void)ex.process(frame.view());  // picks the plan up, warms the primitives
    const auto addresses = ex.plan()->output_addresses();

    const std::uint64_t total_before = test::allocation_count();
    const std::uint64_t backend_before = counters.backend_allocations.load();
    constexpr int frames = 60;
    for (int i = 0; i < frames; ++i) (void)ex.process(frame.view());
    const std::uint64_t total = test::allocation_count() - total_before;
    const std::uint64_t backend = counters.backend_allocations.load() - backend_before;
    CHECK(total - backend == 0);
    CHECK(ex.plan()->output_addresses() == addresses);
    MESSAGE("allocations per frame inside onednn::compiled_graph::run: " << static_cast<double>(backend) /
                                                                                frames);
}

TEST_CASE(
    "executor: a plan's steps run in one workspace sized for the largest, bit for bit as in their own") {
    const graph base = models::base_model(1);
    executor shared({.input = stream_shape, .stream_fps = 15, .threads = 1});
    executor own({.input = stream_shape, .stream_fps = 15, .threads = 1, .share_workspace = false});
    for (const auto& a : five_apps()) {
        shared.add_app(a.name, models::fine_tuned(base, a.k, a.seed), {.num_frozen = a.k});
        own.add_app(a.name, models::fine_tuned(base, a.k, a.seed), {.num_frozen = a.k});
    }
    const auto same_results = [&](std::uint64_t frames) {
        for (std::uint64_t f = 0; f < frames; ++f) {
            const tensor<float> frame = models::frame(f + 11);
            const frame_result& a = shared.process(frame.view());
            const frame_result& b = own.process(frame.view());
            REQUIRE(a.apps.size() == b.apps.size());
            for (const app_result& r : a.apps) {
                CAPTURE(r.app);
                REQUIRE(r.processed);
                CHECK(bit_equal(r.scores, b.find(r.app)->scores));
            }
        }
    };
    same_results(3);
    const auto plan = shared.plan();
    // Eight steps (stems cut at 3, 8 and 11, five suffixes), one workspace: the largest runner's.
    CHECK(plan->workspace_bytes() > 0);
    CHECK(plan->workspace_bytes() < plan->runner_workspace_bytes());
    CHECK(own.plan()->workspace_bytes() == 0);
    // A swap: the next plan reuses most runners (still pointed at the old plan's workspace) and
    // points them at its own on its first frame, before the old plan's workspace is freed.
    shared.replace_app("c", models::fine_tuned(base, 3, 7), {.num_frozen = 3});
    own.replace_app("c", models::fine_tuned(base, 3, 7), {.num_frozen = 3});
    same_results(3);
    CHECK(shared.plan()->version() != plan->version());
    CHECK(shared.plan()->workspace_bytes() > 0);
    // Suffixes side by side run at the same time: each keeps its own.
    executor side_by_side(
        {.input = stream_shape, .stream_fps = 15, .threads = 2, .suffixes = suffix_mode::parallel});
    for (const auto& a : five_apps())
        side_by_side.add_app(a.name, models::fine_tuned(base, a.k, a.seed), {.num_frozen = a.k});
    CHECK(side_by_side.plan()->workspace_bytes() == 0);
}

TEST_CASE("executor: suffixes side by side allocate nothing per frame outside oneDNN") {
    const graph base = models::base_model(1);
    executor ex({.input = stream_shape, .stream_fps = 15, .threads = 2, .suffixes = suffix_mode::parallel});
    for (const auto& a : five_apps())
        ex.add_app(a.name, models::fine_tuned(base, a.k, a.seed),
                   {.num_frozen = a.k, .fps = a.k == 3 ? 5.0 : 0.0});
    const tensor<float> frame = models::frame(1);
    for (int i = 0; i < 3; ++i)
        for (const app_result& a : ex.process(frame.view()).apps) CHECK_MESSAGE(a.error.empty(), a.error);
    std::size_t outside = 0;
    std::string where;
    {
        // oneDNN allocates per frame (more with AVX-512 kernels): the recorder keeps 2^18 callers.
        test::allocation_recorder recorder;
        for (int i = 0; i < 20; ++i) (void)ex.process(frame.view());
        outside = recorder.outside("libdnnl", &where);
    }
    INFO("first callers outside libdnnl: " << where);
    CHECK(outside == 0);
}

TEST_CASE("executor: apply makes several changes in one swap, or none when one fails") {
    const graph base = models::base_model(1);
    executor ex({.input = stream_shape, .stream_fps = 15, .threads = 1});
    const graph a = models::fine_tuned(base, 11, 100);
    const graph b = models::fine_tuned(base, 8, 200);
    const graph c = models::fine_tuned(base, 3, 300);
    ex.add_app("a", a, {.num_frozen = 11});
    ex.add_app("b", b, {.num_frozen = 8, .fps = 5});
    const tensor<float> frame = models::frame(3);
    (void)ex.process(frame.view());
    const std::uint64_t version = ex.plan_version();

    // a leaves, c joins, b changes its rate: one new plan, no frame under a plan in between.
    ex.apply({{.name = "a", .remove = true},
              {.name = "c", .model = &c, .options = {.num_frozen = 3, .fps = 15}},
              {.name = "b", .options = {.fps = 15}}});
    CHECK(ex.plan_version() == version + 1);
    const frame_result& r = ex.process(frame.view());
    CHECK(r.plan_version == version + 1);
    REQUIRE(r.apps.size() == 2);
    CHECK(r.find("a") == nullptr);
    REQUIRE(r.find("b") != nullptr);
    REQUIRE(r.find("c") != nullptr);
    CHECK(r.find("b")->processed);  // now at the stream's rate
    CHECK(r.find("c")->processed);

    // A deployed app given a model again is replaced (a new branch point).
    ex.apply({{.name = "b", .model = &b, .options = {.num_frozen = 0, .fps = 15}}});
    CHECK(ex.plan_version() == version + 2);
    CHECK(ex.trie().app("b").num_frozen == 0);

    // The last edit fails: the first one is not applied either.
    const std::string msg = error_of([&] {
        ex.apply({{.name = "c", .remove = true}, {.name = "nobody", .options = {.fps = 3}}});
    });
    CHECK(msg.find("app 'nobody'") != std::string::npos);
    CHECK(ex.plan_version() == version + 2);
    CHECK(ex.process(frame.view()).find("c") != nullptr);
}

TEST_CASE("frame_rate: a phase shifts the selection, stagger_phase spreads apps over the stride") {
    const frame_rate stream{15000};
    const frame_rate five{5000};
    std::vector<std::uint64_t> taken;
    for (std::uint64_t j = 0; j < 10; ++j)
        if (selects_with_phase(j, 1, five, stream)) taken.push_back(j);
    CHECK(taken == std::vector<std::uint64_t>{1, 4, 7});
    for (std::uint64_t j = 0; j < 100; ++j)
        CHECK(selects_with_phase(j, 0, five, stream) == selects(j, five, stream));
    // Three apps at 5 of 15 fps (stride 3): phases 0, 1, 2; two apps at 4 of 15 (stride 3.75): 0, 1.
    CHECK(stagger_phase(0, 3, five, stream) == 0);
    CHECK(stagger_phase(1, 3, five, stream) == 1);
    CHECK(stagger_phase(2, 3, five, stream) == 2);
    CHECK(stagger_phase(1, 2, frame_rate{4000}, stream) == 1);
    CHECK(stagger_phase(0, 0, five, stream) == 0);
    static_assert(stagger_phase(1, 2, frame_rate{1000}, frame_rate{15000}) == 7);
}

TEST_CASE("executor: apps at branch point 0 with phases take staggered frames, a phase needs k = 0") {
    const graph base = models::base_model(1);
    executor ex({.input = stream_shape, .stream_fps = 15, .threads = 1});
    ex.add_app("a", models::fine_tuned(base, 0, 1), {.num_frozen = 0, .fps = 5, .phase = 0});
    ex.add_app("b", models::fine_tuned(base, 0, 2), {.num_frozen = 0, .fps = 5, .phase = 1});
    ex.add_app("c", models::fine_tuned(base, 0, 3), {.num_frozen = 0, .fps = 5, .phase = 2});
    std::map<std::string, std::vector<std::uint64_t>> taken;
    for (std::uint64_t n = 0; n < 9; ++n) {
        const frame_result& r = ex.process(models::frame(n % 4).view());
        CHECK(r.suffix_runs == 1);  // every frame runs exactly one of the three
        for (const char* name : {"a", "b", "c"})
            if (r.find(name)->processed) taken[name].push_back(n);
    }
    CHECK(taken["a"] == std::vector<std::uint64_t>{0, 3, 6});
    CHECK(taken["b"] == std::vector<std::uint64_t>{1, 4, 7});
    CHECK(taken["c"] == std::vector<std::uint64_t>{2, 5, 8});
    CHECK(error_of([&] {
              ex.add_app("d", models::fine_tuned(base, 11, 4), {.num_frozen = 11, .fps = 5, .phase = 1});
          }).find("a phase needs branch point 0") != std::string::npos);
    CHECK(ex.plan()->app_count() == 3);
}

TEST_CASE("executor: warm runs the plan without using a frame number or changing later results") {
    const graph base = models::base_model(1);
    executor warmed({.input = stream_shape, .stream_fps = 15, .threads = 1});
    executor plain({.input = stream_shape, .stream_fps = 15, .threads = 1});
    for (executor* ex : {&warmed, &plain}) {
        ex->add_app("x", models::fine_tuned(base, 11, 5), {.num_frozen = 11, .fps = 5});
        ex->add_app("y", models::fine_tuned(base, 0, 6), {.num_frozen = 0, .fps = 15});
    }
    for (std::uint64_t n = 0; n < 7; ++n) {
        warmed.warm(models::frame((n + 1) % 4).view());
        CHECK(warmed.frames() == n);
        const frame_result& w = warmed.process(models::frame(n % 4).view());
        const frame_result& p = plain.process(models::frame(n % 4).view());
        CHECK(w.frame == p.frame);
        for (const char* name : {"x", "y"}) {
            CHECK(w.find(name)->processed == p.find(name)->processed);
            if (p.find(name)->processed) CHECK(bit_equal(w.find(name)->scores, p.find(name)->scores));
        }
    }
    const tensor<float> wrong(dims{1, 3, 8, 8});
    CHECK(error_of([&] { warmed.warm(wrong.view()); }).find("frame must be") != std::string::npos);
    CHECK(warmed.frames() == 7);
}

TEST_CASE("frame_wait: every rule returns at or after the deadline, names round-trip") {
    const graph base = models::base_model(1);
    executor ex({.input = stream_shape, .stream_fps = 15, .threads = 1});
    ex.add_app("x", models::fine_tuned(base, 11, 5), {.num_frozen = 11});
    const tensor<float> f = models::frame(0);
    for (auto k : {frame_wait::kind::sleep, frame_wait::kind::spin, frame_wait::kind::sleep_spin,
                   frame_wait::kind::sleep_warm}) {
        CAPTURE(to_string(k));
        CHECK(parse_frame_wait(to_string(k), "test") == k);
        const frame_wait w{.rule = k, .lead = std::chrono::milliseconds(1)};
        const auto deadline = frame_wait::clock::now() + std::chrono::milliseconds(3);
        w.wait_until(deadline, ex, f.view());
        CHECK(frame_wait::clock::now() >= deadline);
        CHECK(ex.frames() == 0);
    }
    CHECK(error_of([] { (void)parse_frame_wait("nap", "--frame-wait"); }).find("--frame-wait") !=
          std::string::npos);
}
