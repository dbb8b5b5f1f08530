// The experiment's sweep on a small hand-made case: two apps on a short synthetic stream of 4x4
// frames, hand-made per-frame predictions and a hand-made latency table. Replay only, except a
// tiny real-time run of half a second and one of four, so the whole file takes about six seconds.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <stemshare/chain/chain.hpp>
#include <stemshare/chain/layers.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/experiment/event_eval.hpp>
#include <stemshare/experiment/realtime_check.hpp>
#include <stemshare/experiment/replay.hpp>
#include <stemshare/experiment/stream.hpp>
#include <stemshare/experiment/sweep.hpp>
#include <stemshare/profiling/latency_table.hpp>

using namespace stemshare;

namespace {

constexpr double stream_fps = 10.0;

// Twenty 4x4 images, two of each class 0..9, each a different grey level.
const experiment::frame_stream& test_stream() {
    static const experiment::frame_stream stream = [] {
        tensor<float> images(dims{20, 1, 4, 4});
        std::vector<std::uint8_t> labels;
        for (std::int64_t i = 0; i < 20; ++i) {
            labels.push_back(static_cast<std::uint8_t>(i % 10));
            for (std::int64_t p = 0; p < 16; ++p) images[i * 16 + p] = static_cast<float>(i) / 20.0F;
        }
        const std::vector<std::int32_t> background{0, 1};
        const std::vector<std::int32_t> events{4, 7};
        return experiment::frame_stream(
            images, labels, background, events,
            {.fps = stream_fps, .duration_s = 60.0, .event_ms = 1000.0, .seed = 5});
    }();
    return stream;
}

// A candidate whose decision on frame j is right with probability tpr (event frames) or 1 - fpr
// (other frames), from a fixed seed, and whose recorded rates are exactly tpr and fpr.
experiment::candidate_decisions candidate(std::size_t k, double tpr, double fpr,
                                          const std::vector<bool>& present, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    experiment::candidate_decisions c{k, tpr, fpr, {}};
    for (bool p : present) {
        const double u = static_cast<double>(rng() >> 11U) * 0x1.0p-53;
        c.positive.push_back(p ? u < tpr : u < fpr);
    }
    return c;
}

// Candidates at k = 0 (best), 2 and 3 (worst, cheapest to add) of a four-layer model.
experiment::sweep_app make_app(const std::string& name, std::int32_t target, std::uint64_t seed) {
    const auto& stream = test_stream();
    const std::vector<std::int32_t> targets{target};
    const std::vector<bool> present = stream.present(targets);
    experiment::app_predictions p{
        name,
        {candidate(0, 0.95, 0.02, present, seed), candidate(2, 0.9, 0.05, present, seed + 1),
         candidate(3, 0.8, 0.1, present, seed + 2)}};
    return experiment::measure_app(name, std::move(p), targets, stream);
}

// Four layers of 1000, 500, 500 and 100 us.
profiling::latency_table table() {
    profiling::latency_table t;
    t.model = "hand-made";
    for (double us : {1000.0, 500.0, 500.0, 100.0}) {
        profiling::layer_latency l;
        l.index = t.layers.size();
        l.time.median_us = us;
        t.layers.push_back(l);
    }
    return t;
}

// Three quarters of one full model at the stream rate: 0.75 x 10 x 2.1 ms.
constexpr double default_budget = 0.75 * stream_fps * 0.0021;

experiment::sweep_input small_sweep(double budget = default_budget) {
    experiment::sweep_input in;
    in.apps.push_back(make_app("seven", 7, 11));
    in.apps.push_back(make_app("four", 4, 23));
    in.stream = &test_stream();
    in.latencies = table();
    in.budget = budget;
    return in;
}

}  // namespace

TEST_CASE("sweep: measure_app takes the stream's events of the targets, e and c") {
    const auto app = make_app("seven", 7, 11);
    const std::vector<std::int32_t> seven{7};
    CHECK(app.events == test_stream().events_for(seven));
    REQUIRE(app.events.size() > 5);
    CHECK(app.event_frequency > 0.0);
    CHECK(app.event_frequency < 0.5);
    CHECK(app.correlation.miss_pairs > 0);
    CHECK(app.predictions.candidates.size() == 3);
}

TEST_CASE("sweep: one row per (number of apps, policy), in order, each handed to on_row") {
    experiment::sweep_input in = small_sweep();
    std::vector<std::string> seen;
    in.on_row = [&seen](const experiment::sweep_row& r) {
        seen.push_back(std::to_string(r.app_count) + " " + r.policy);
    };
    const auto rows = experiment::run_sweep(in);
    REQUIRE(rows.size() == 2 * 5);
    CHECK(seen == std::vector<std::string>{"1 mainstream", "1 mainstream+greedy", "1 mainstream+burst",
                                           "1 nosharing", "1 maxsharing", "2 mainstream",
                                           "2 mainstream+greedy", "2 mainstream+burst", "2 nosharing",
                                           "2 maxsharing"});
    for (const auto& r : rows) {
        CAPTURE(r.policy);
        CAPTURE(r.app_count);
        REQUIRE(r.per_app.size() == r.app_count);
        CHECK(r.runner == experiment::sweep_runner::replay);
        CHECK(r.plan.feasible());
        CHECK(r.plan.cost <= in.budget * (1.0 + 1e-12));
        CHECK(r.realtime_seconds == 0.0);
        double measured = 0.0;
        double predicted = 0.0;
        for (std::size_t a = 0; a < r.app_count; ++a) {
            const auto& pa = r.per_app[a];
            CHECK(pa.app == in.apps[a].name);
            CHECK(pa.num_frozen == r.plan.apps[a].num_frozen);
            CHECK(pa.fps == r.plan.apps[a].fps);
            CHECK(pa.f1_predicted == r.plan.apps[a].quality.f1);
            // Planned with the default model, the mainstream reading is the planner's own number.
            CHECK(r.quality_model == sched::quality_model::mainstream);
            CHECK(pa.f1_predicted_mainstream == pa.f1_predicted);
            CHECK(pa.f1_measured >= 0.0);
            CHECK(pa.f1_measured <= 1.0);
            CHECK(pa.f1_predicted_sampled >= 0.0);
            CHECK(pa.f1_predicted_sampled <= 1.0);
            // The chosen candidate's rates are the ones the app's predictions recorded.
            const auto& c = in.apps[a].predictions.at(static_cast<std::size_t>(pa.num_frozen));
            CHECK(pa.true_positive_rate == c.true_positive_rate);
            CHECK(pa.false_positive_rate == c.false_positive_rate);
            measured += pa.f1_measured;
            predicted += pa.f1_predicted;
        }
        CHECK(r.mean_f1_measured == doctest::Approx(measured / static_cast<double>(r.app_count)));
        CHECK(r.mean_f1_predicted == doctest::Approx(predicted / static_cast<double>(r.app_count)));
        // The modes' rules: No-sharing runs whole models, Max-sharing the largest branch point.
        for (const auto& pa : r.per_app) {
            if (r.policy == "nosharing") CHECK(pa.num_frozen == 0);
            if (r.policy == "maxsharing") CHECK(pa.num_frozen == 3);
        }
    }
    CHECK(rows[0].planner == sched::planner_kind::mainstream_greedy);
    CHECK(rows[1].planner == sched::planner_kind::greedy);
    CHECK(rows[2].planner == sched::planner_kind::mainstream_greedy);
    CHECK(rows[3].planner == sched::planner_kind::exact);
    // Only the burst-fitted policy records a fitted budget; here its frames fit.
    CHECK(rows[0].burst_fit_budget == 0.0);
    CHECK(rows[2].burst_fit_budget > 0.0);
    CHECK(rows[2].burst_fit_budget <= in.budget);
    CHECK(rows[2].burst_fits);
    CHECK(rows[2].dropped_frames == 0);
}

TEST_CASE("sweep: quality_model sampled plans every policy on the sampled reading") {
    experiment::sweep_input in = small_sweep();
    in.quality_model = sched::quality_model::sampled;
    const auto rows = experiment::run_sweep(in);
    REQUIRE(rows.size() == 2 * 5);
    bool readings_differ = false;
    for (const auto& r : rows) {
        CHECK(r.quality_model == sched::quality_model::sampled);
        for (const auto& pa : r.per_app) {
            CHECK(pa.f1_predicted == pa.f1_predicted_sampled);
            readings_differ = readings_differ || pa.f1_predicted_mainstream != pa.f1_predicted_sampled;
        }
    }
    CHECK(readings_differ);
}

TEST_CASE("sweep: a row's measured F1 is its plan replayed on the box and scored event by event") {
    const experiment::sweep_input in = small_sweep();
    const auto rows = experiment::run_sweep(in);
    const auto& row = rows[8];  // No-sharing, two apps
    REQUIRE(row.policy == "nosharing");
    const auto& stream = test_stream();
    const std::vector<double> box{0.001 / in.budget, 0.0005 / in.budget, 0.0005 / in.budget,
                                  0.0001 / in.budget};
    std::vector<experiment::replay_app> plan;
    for (const auto& a : row.plan.apps) plan.push_back({static_cast<std::size_t>(a.num_frozen), a.fps});
    const auto r = experiment::replay(plan, box, stream_fps, stream.frame_count());
    CHECK(row.dropped_frames == r.dropped_frames);
    CHECK(row.box_load == doctest::Approx(r.measured_load));
    for (std::size_t a = 0; a < 2; ++a) {
        const auto& c = in.apps[a].predictions.at(static_cast<std::size_t>(row.plan.apps[a].num_frozen));
        std::vector<experiment::frame_decision> d(static_cast<std::size_t>(stream.frame_count()),
                                                  experiment::frame_decision::not_processed);
        for (std::size_t j = 0; j < d.size(); ++j)
            if (r.processed[a][j])
                d[j] = c.positive[j] ? experiment::frame_decision::positive
                                     : experiment::frame_decision::negative;
        const auto scores = experiment::evaluate_events(d, in.apps[a].events, stream.event_frames());
        CHECK(row.per_app[a].f1_measured == doctest::Approx(scores.f1));
        CHECK(row.per_app[a].achieved_fps == doctest::Approx(r.achieved_fps[a]));
    }
}

TEST_CASE("sweep: a budget below the cheapest plan is refused before anything runs, naming the policy") {
    // The cheapest plans of two apps: No-sharing, two whole models at 0.1 fps, 0.00042; Mainstream
    // and Max-sharing, layers 0-2 shared and two copies of layer 3 at 1 fps, 0.0022.
    experiment::sweep_input in = small_sweep(0.002);
    int rows = 0;
    in.on_row = [&rows](const experiment::sweep_row&) { ++rows; };
    CHECK_THROWS_WITH_AS(
        (void)experiment::run_sweep(in),
        doctest::Contains("budget: 0.002000 core-seconds per second is below the cheapest plan of "
                          "2 apps under policy 'mainstream' (cost 0.002200"),
        stemshare::error);
    CHECK(rows == 0);
    in.policies = {{"nosharing", sched::mode::nosharing, sched::planner_kind::exact}};
    in.budget = 0.0004;
    CHECK_THROWS_WITH_AS((void)experiment::run_sweep(in),
                         doctest::Contains("under policy 'nosharing' (cost 0.000420"), stemshare::error);
    CHECK(rows == 0);
    in.budget = 0.0;
    CHECK_THROWS_WITH_AS((void)experiment::run_sweep(in), doctest::Contains("budget: must be a positive"),
                         stemshare::error);
    // Just enough for every policy's cheapest plan: the sweep runs.
    in.policies = experiment::standard_policies();
    in.budget = 0.0022 * 1.001;
    CHECK(experiment::run_sweep(in).size() == 10);
}

TEST_CASE("sweep: bad input is an error naming the field or the app") {
    {
        experiment::sweep_input in = small_sweep();
        in.stream = nullptr;
        CHECK_THROWS_WITH_AS((void)experiment::run_sweep(in), doctest::Contains("stream"), stemshare::error);
    }
    {
        experiment::sweep_input in = small_sweep();
        in.apps.clear();
        CHECK_THROWS_WITH_AS((void)experiment::run_sweep(in), doctest::Contains("no app"), stemshare::error);
    }
    {
        experiment::sweep_input in = small_sweep();
        in.policies.clear();
        CHECK_THROWS_WITH_AS((void)experiment::run_sweep(in), doctest::Contains("no policy"),
                             stemshare::error);
    }
    {
        experiment::sweep_input in = small_sweep();
        in.latencies.layers.clear();
        CHECK_THROWS_WITH_AS((void)experiment::run_sweep(in), doctest::Contains("latencies"),
                             stemshare::error);
    }
    {
        experiment::sweep_input in = small_sweep();
        in.apps[1].predictions.candidates[1].positive.pop_back();
        CHECK_THROWS_WITH_AS(
            (void)experiment::run_sweep(in),
            doctest::Contains("app 'four': candidate num_frozen 2 has 599 predictions; the stream "
                              "has 600 frames"),
            stemshare::error);
    }
    {
        experiment::sweep_input in = small_sweep();
        in.apps[0].events.push_back({590, 610});
        CHECK_THROWS_WITH_AS((void)experiment::run_sweep(in),
                             doctest::Contains("app 'seven': event [590, 610)"), stemshare::error);
    }
    {
        // A curve without k = 0 is the planners' error, naming the app.
        experiment::sweep_input in = small_sweep();
        in.apps[1].predictions.candidates.erase(in.apps[1].predictions.candidates.begin());
        CHECK_THROWS_WITH_AS((void)experiment::run_sweep(in), doctest::Contains("app 'four'"),
                             stemshare::error);
    }
    {
        experiment::sweep_input in = small_sweep();
        in.runner = experiment::sweep_runner::realtime;
        in.realtime_frames = 10;
        CHECK_THROWS_WITH_AS((void)experiment::run_sweep(in),
                             doctest::Contains("app 'seven': has no candidate_model"), stemshare::error);
        for (auto& app : in.apps) app.candidate_model = [](std::size_t) { return graph(shape{1, 4, 4}); };
        in.realtime_frames = 0;
        CHECK_THROWS_WITH_AS((void)experiment::run_sweep(in), doctest::Contains("realtime_frames"),
                             stemshare::error);
    }
}

TEST_CASE("sweep: prediction gap over rows") {
    std::vector<experiment::sweep_row> rows(2);
    rows[0].mean_f1_measured = 0.5;
    rows[0].mean_f1_predicted = 0.7;
    rows[0].mean_f1_predicted_sampled = 0.4;
    rows[1].mean_f1_measured = 0.6;
    rows[1].mean_f1_predicted = 0.5;
    rows[1].mean_f1_predicted_sampled = 0.6;
    rows[0].mean_f1_predicted_mainstream = 0.8;
    rows[1].mean_f1_predicted_mainstream = 0.6;
    const auto g = experiment::measure_prediction_gap(rows);
    CHECK(g.rows == 2);
    CHECK(g.mean_abs_gap == doctest::Approx(0.15));
    CHECK(g.mean_bias == doctest::Approx(0.05));
    CHECK(g.mean_abs_gap_sampled == doctest::Approx(0.05));
    CHECK(g.mean_abs_gap_mainstream == doctest::Approx(0.15));
    CHECK(experiment::measure_prediction_gap({}).mean_abs_gap == 0.0);
}

TEST_CASE("sweep: cut_at_event_start ends the measured part where an event begins") {
    const auto& stream = test_stream();
    const std::int64_t cut = experiment::cut_at_event_start(stream, 100);
    CHECK(cut >= 100);
    bool begins_event = false;
    for (const auto& s : stream.segments())
        begins_event = begins_event || (s.is_event && s.frames.begin == cut);
    CHECK(begins_event);
    CHECK(experiment::cut_at_event_start(stream, stream.frame_count() + 1) == stream.frame_count());
}

TEST_CASE("sweep: the real-time runner and the real-time check run a tiny model on the wall clock") {
    using namespace stemshare::layers;
    // Four layers like the latency table; every candidate shares the stem's weights.
    constexpr auto tiny = stemshare::input<1, 4, 4> | conv2d<{.out_channels = 2, .kernel = 3, .padding = 1}> |
                          relu | flatten | dense<{.out_features = 2}>;
    const auto model = [&](std::size_t k) {
        graph g = tiny.to_graph();
        g.bind_random(1);
        graph other = tiny.to_graph();
        other.bind_random(100 + k);
        for (std::size_t l = k; l < g.size(); ++l) g.at(l).params = other.at(l).params;
        return g;
    };
    experiment::sweep_input in = small_sweep();
    in.apps.pop_back();
    in.apps[0].candidate_model = model;
    in.policies = {{"nosharing", sched::mode::nosharing, sched::planner_kind::exact}};
    in.runner = experiment::sweep_runner::realtime;
    in.realtime_frames = 5;  // half a second
    const auto rows = experiment::run_sweep(in);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].runner == experiment::sweep_runner::realtime);
    CHECK(rows[0].realtime_seconds > 0.0);
    CHECK(rows[0].per_app[0].f1_measured >= 0.0);

    const auto check = experiment::compare_realtime(in, rows[0], 5);
    CHECK(check.app_count == 1);
    CHECK(check.policy == "nosharing");
    CHECK(check.seconds == doctest::Approx(0.5));
    CHECK(check.realtime_seconds > 0.0);
    CHECK(check.fps_replay > 0.0);
    // Each processed frame beside the table's time for the same apps, and the windows over them.
    REQUIRE(!check.frames.empty());
    double table = 0.0;
    for (const auto& f : check.frames) {
        CHECK(f.apps == 1);
        CHECK(f.steps == 1);
        CHECK(f.executor_seconds > 0.0);
        CHECK(f.table_seconds > 0.0);
        table += f.table_seconds;
    }
    CHECK(check.table_live_frames_us ==
          doctest::Approx(table / static_cast<double>(check.frames.size()) * 1e6));
    CHECK(check.median_executor_over_table > 0.0);
    REQUIRE(check.window_executor_over_table.size() == 1);  // half a second: one 10 s window
    CHECK(check.window_executor_over_table[0] ==
          doctest::Approx(check.executor_frame_us / check.table_live_frames_us));
    CHECK_THROWS_WITH_AS((void)experiment::compare_realtime(in, rows[0], 0), doctest::Contains("frames"),
                         stemshare::error);
    CHECK(check.speed_changes == 0);  // one window, never closed
    CHECK(check.table_tracked_live_frames_us == doctest::Approx(check.table_live_frames_us));

    // Four seconds in windows of at least five of the app's frames (a window of fewer never moves
    // the speed): the tiny model runs in microseconds against the table's 2.1 ms, so the first
    // window moves the tracked speed by orders of magnitude, and the frames after it are charged at
    // the speed the windows before them measured.
    const double window = std::ceil(5.0 / rows[0].plan.apps[0].fps);
    CAPTURE(rows[0].plan.apps[0].fps);
    const auto tracked = experiment::compare_realtime(in, rows[0], 40, {.window_seconds = window});
    CHECK(tracked.window_seconds == window);
    REQUIRE(tracked.window_executor_over_table.size() >= 2);
    REQUIRE(tracked.speed_changes >= 1);
    double charged = 0.0;
    for (const auto& f : tracked.frames) {
        CAPTURE(f.frame);
        if (static_cast<double>(f.frame) < window * stream_fps)
            CHECK(f.tracked_speed == 1.0);  // the first window
        CHECK(f.tracked_speed > 0.0);
        charged += f.table_seconds * f.tracked_speed;
    }
    CHECK(tracked.frames.back().tracked_speed < 0.5);
    CHECK(tracked.table_tracked_live_frames_us ==
          doctest::Approx(charged / static_cast<double>(tracked.frames.size()) * 1e6));
    const double off_table = std::abs(std::log(tracked.executor_frame_us / tracked.table_live_frames_us));
    const double off_tracked =
        std::abs(std::log(tracked.executor_frame_us / tracked.table_tracked_live_frames_us));
    CHECK(off_tracked < off_table);
    CHECK_THROWS_AS((void)experiment::compare_realtime(in, rows[0], 5, {.window_seconds = 0.0}),
                    stemshare::error);
}
