// The real-time runner: frame choice as the runtime's rule says, drops never queued, bad input.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <stemshare/experiment/predictions.hpp>
#include <stemshare/experiment/realtime.hpp>
#include <stemshare/io/mpackage.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>

using namespace stemshare;

namespace {
tensor<float> noise_frames(std::int64_t n) {
    tensor<float> frames(dims{n, 1, 28, 28});
    fill_uniform(frames.values(), 7, 0.0F, 1.0F);
    return frames;
}
graph model(std::uint64_t seed) {
    graph g = zoo::fashion_mobilenet.to_graph();
    g.bind_random(seed);
    return g;
}
}  // namespace

TEST_CASE(
    "run_realtime: every app processes only frames its rate selects, and each wanted frame is run or "
    "dropped") {
    const tensor<float> frames = noise_frames(24);
    // Two apps sharing the stem below layer 9 at 12 and 4 fps of a 24 fps stream; a third alone.
    graph a = model(1);
    graph b = model(1);
    const graph c = model(2);
    for (std::size_t l = 9; l < b.size(); ++l) b.at(l).params = c.at(l).params;
    const std::vector<experiment::realtime_app> apps{{"a", a, 9, 12.0}, {"b", b, 9, 4.0}, {"c", c, 0, 6.0}};
    const auto r = experiment::run_realtime(frames, 24.0, apps, 24);
    const std::vector<experiment::replay_app> plan{{9, 12.0}, {9, 4.0}, {0, 6.0}};
    // Replay with free work says which frames each app wants.
    const std::vector<double> no_work(41, 0.0);
    const auto wanted = experiment::replay(plan, no_work, 24.0, 24);
    std::int64_t wanted_frames = 0;
    for (std::size_t j = 0; j < 24; ++j) {
        bool any = false;
        bool ran = false;
        for (std::size_t i = 0; i < apps.size(); ++i) {
            const bool processed = r.decisions[i][j] != experiment::frame_decision::not_processed;
            if (processed) CHECK(wanted.processed[i][j]);
            any = any || wanted.processed[i][j];
            ran = ran || processed;
        }
        wanted_frames += any ? 1 : 0;
        // A frame the box took runs every app that wants it.
        if (ran)
            for (std::size_t i = 0; i < apps.size(); ++i)
                CHECK((r.decisions[i][j] != experiment::frame_decision::not_processed) ==
                      wanted.processed[i][j]);
    }
    CHECK(r.processed_frames + r.dropped_frames == wanted_frames);
    CHECK(r.decisions[0][0] != experiment::frame_decision::not_processed);  // the box is idle at frame 0
    CHECK(r.duration_seconds == doctest::Approx(1.0));
    // The trace: one row per processed frame, in stream order, each a frame some app ran, starting
    // after the previous one ended.
    REQUIRE(r.frames_run.size() == static_cast<std::size_t>(r.processed_frames));
    double spent = 0.0;
    for (std::size_t i = 0; i < r.frames_run.size(); ++i) {
        const experiment::live_frame& f = r.frames_run[i];
        bool ran = false;
        for (const auto& decided : r.decisions)
            ran = ran ||
                  decided[static_cast<std::size_t>(f.frame)] != experiment::frame_decision::not_processed;
        CHECK(ran);
        CHECK(f.spent_seconds > 0.0);
        CHECK(f.idle_seconds >= 0.0);
        if (i > 0) {
            const experiment::live_frame& before = r.frames_run[i - 1];
            CHECK(f.frame > before.frame);
            CHECK(f.start_seconds >= before.start_seconds + before.spent_seconds);
            CHECK(
                f.idle_seconds ==
                doctest::Approx(f.start_seconds - before.start_seconds - before.spent_seconds).epsilon(1e-6));
        }
        spent += f.spent_seconds;
    }
    CHECK(spent / static_cast<double>(r.processed_frames) == doctest::Approx(r.mean_frame_seconds));
}

TEST_CASE("run_realtime: refuses bad input") {
    const tensor<float> frames = noise_frames(4);
    const std::vector<experiment::realtime_app> apps{{"a", model(1), 0, 5.0}};
    CHECK_THROWS_AS((void)experiment::run_realtime(frames, 10.0, apps, 5), stemshare::error);
    CHECK_THROWS_WITH_AS((void)experiment::run_realtime(frames, 10.0, apps, 4, {.box_share = 0.0}),
                         doctest::Contains("box_share"), stemshare::error);
    CHECK_THROWS_AS((void)experiment::run_realtime(frames, 10.0, {}, 4), stemshare::error);
}

TEST_CASE(
    "run_realtime: a zero stream rate or an app rate above the stream or rounding to 0 is refused naming the "
    "app") {
    const tensor<float> frames = noise_frames(4);
    const std::vector<experiment::realtime_app> apps{{"a", model(1), 0, 5.0}};
    CHECK_THROWS_WITH_AS((void)experiment::run_realtime(frames, 0.0, apps, 4),
                         doctest::Contains("stream frame rate 0.000000 must be positive"), stemshare::error);
    const std::vector<experiment::realtime_app> fast{{"a", model(1), 0, 5.0}, {"b", model(1), 0, 20.0}};
    CHECK_THROWS_WITH_AS(
        (void)experiment::run_realtime(frames, 10.0, fast, 4),
        doctest::Contains("app 'b': frame rate 20.000000 must be in (0, stream fps 10.000000]"),
        stemshare::error);
    const std::vector<experiment::realtime_app> slow{{"tiny", model(1), 0, 0.0001}};
    CHECK_THROWS_WITH_AS((void)experiment::run_realtime(frames, 10.0, slow, 4),
                         doctest::Contains("app 'tiny': frame rate 0.000100 rounds to 0 thousandths"),
                         stemshare::error);
}

TEST_CASE("predict_stream: frames of the wrong rank or item shape are refused naming both shapes") {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("stemshare-predict-shape-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    const graph base = model(1);
    const std::vector<io::mpackage_candidate_model> cands{{9, 0.9, 0.1, &base}};
    (void)io::write_mpackage(dir, "a", "fmn", "fashion_mobilenet", base, cands);
    const std::vector<io::mpackage> packages{io::mpackage::read(dir)};
    const auto architecture = [] { return zoo::fashion_mobilenet.to_graph(); };
    CHECK_THROWS_WITH_AS(
        (void)experiment::predict_stream(packages, architecture, tensor<float>(dims{2, 3, 28, 28})),
        doctest::Contains(
            "frames are {2, 3, 28, 28} but the base model takes {N, c, h, w} with c x h x w = [1x28x28]"),
        stemshare::error);
    CHECK_THROWS_WITH_AS(
        (void)experiment::predict_stream(packages, architecture, tensor<float>(dims{2, 784})),
        doctest::Contains("frames are {2, 784}"), stemshare::error);
    std::filesystem::remove_all(dir);
}
