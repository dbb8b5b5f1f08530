// `stemshare plan`: the JSON contract, exit codes and one-line errors, run through the real binary.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/io/apps_file.hpp>
#include <stemshare/sched.hpp>

#include "support/run_cli.hpp"

#include "sched_test_data.hpp"

namespace {

using run_result = stemshare::test::cli_result;

run_result run(const std::string& args) {
    return stemshare::test::run_cli(args);
}

const std::string data_file = std::string(STEMSHARE_SCHED_TEST_DATA) + "/mainstream-apps.json";

int count_lines(const std::string& s) {
    int n = 0;
    for (char c : s) n += c == '\n' ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("plan command: --json prints exactly the documented object with full precision") {
    const run_result r =
        run("plan --apps " + data_file +
            " --select bus,pedestrian,bus --budget 100 --planner exact --mode mainstream --json");
    REQUIRE(r.status == 0);
    CHECK(count_lines(r.output) == 1);
    const nlohmann::json j = nlohmann::json::parse(r.output);
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    std::sort(keys.begin(), keys.end());
    CHECK(keys == std::vector<std::string>{"apps", "budget", "cost", "mean_f1", "min_f1", "mode", "planner",
                                           "quality_model", "stream_fps"});
    CHECK(j["planner"] == "exact");
    CHECK(j["mode"] == "mainstream");
    CHECK(j["quality_model"] == "mainstream");
    CHECK(j["budget"].get<double>() == 100.0);
    CHECK(j["stream_fps"].get<double>() == 15.0);
    REQUIRE(j["apps"].size() == 3);
    CHECK(j["apps"][0]["name"] == "bus");
    CHECK(j["apps"][1]["name"] == "pedestrian");
    CHECK(j["apps"][2]["name"] == "bus");
    for (const auto& a : j["apps"]) {
        std::vector<std::string> app_keys;
        for (auto it = a.begin(); it != a.end(); ++it) app_keys.push_back(it.key());
        std::sort(app_keys.begin(), app_keys.end());
        CHECK(app_keys == std::vector<std::string>{"f1", "fps", "name", "num_frozen", "precision", "recall",
                                                   "suffix_cost"});
        CHECK(a["num_frozen"].is_number_integer());
    }
    // The same plan through the library: every printed number reads back to the same double.
    const auto apps = stemshare::io::select_apps(sched_test::shipped().apps, "bus,pedestrian,bus");
    const stemshare::sched::problem p(
        apps, stemshare::sched::cost_model(sched_test::shipped().layer_latencies), 15.0);
    const stemshare::sched::plan pl = stemshare::sched::exact(p, 100.0);
    CHECK(j["cost"].get<double>() == pl.cost);
    CHECK(j["mean_f1"].get<double>() == pl.mean_f1());
    CHECK(j["min_f1"].get<double>() == pl.min_f1);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(j["apps"][i]["num_frozen"].get<int>() == pl.apps[i].num_frozen);
        CHECK(j["apps"][i]["fps"].get<double>() == pl.apps[i].fps);
        CHECK(j["apps"][i]["f1"].get<double>() == pl.apps[i].quality.f1);
        CHECK(j["apps"][i]["recall"].get<double>() == pl.apps[i].quality.recall);
        CHECK(j["apps"][i]["precision"].get<double>() == pl.apps[i].quality.precision);
        CHECK(j["apps"][i]["suffix_cost"].get<double>() == pl.apps[i].suffix_cost);
    }
    // Printed as %.17g (17 significant digits, trailing zeros dropped by %g).
    char expected[64];
    std::snprintf(expected, sizeof expected, "\"mean_f1\":%.17g,", pl.mean_f1());
    CHECK(r.output.find(expected) != std::string::npos);
    std::snprintf(expected, sizeof expected, "\"cost\":%.17g,", pl.cost);
    CHECK(r.output.find(expected) != std::string::npos);
}

TEST_CASE("plan command: planners, modes, --fps and the min objective are honoured") {
    const run_result r =
        run("plan --apps " + data_file +
            " --select cars,cats --budget 60 --fps 10 --planner mainstream_greedy --mode nosharing --json");
    REQUIRE(r.status == 0);
    const nlohmann::json j = nlohmann::json::parse(r.output);
    CHECK(j["planner"] == "mainstream_greedy");
    CHECK(j["mode"] == "nosharing");
    CHECK(j["stream_fps"].get<double>() == 10.0);
    for (const auto& a : j["apps"]) {
        CHECK(a["num_frozen"] == 0);
        CHECK(a["fps"].get<double>() <= 10.0);
    }
    const run_result fair =
        run("plan --apps " + data_file +
            " --select train,cars --budget 100 --planner exact --objective min --mode maxsharing --json");
    REQUIRE(fair.status == 0);
    const nlohmann::json jf = nlohmann::json::parse(fair.output);
    for (const auto& a : jf["apps"]) CHECK(a["num_frozen"] == 84);
}

TEST_CASE("plan command: without --json the plan is shown beside both baselines") {
    const run_result r =
        run("plan --apps " + data_file + " --select pedestrian,cars --budget 100 --planner greedy");
    REQUIRE(r.status == 0);
    CHECK(r.output.find("mainstream (greedy") != std::string::npos);
    CHECK(r.output.find("nosharing baseline") != std::string::npos);
    CHECK(r.output.find("maxsharing baseline") != std::string::npos);
}

TEST_CASE("plan command: --quality-model sampled plans on the sampled reading, mainstream is the default") {
    const std::string args = "plan --apps " + data_file + " --select pedestrian --budget 100 --planner exact --json";
    const run_result def = run(args);
    const run_result ms = run(args + " --quality-model mainstream");
    const run_result sa = run(args + " --quality-model sampled");
    REQUIRE(def.status == 0);
    REQUIRE(ms.status == 0);
    REQUIRE(sa.status == 0);
    CHECK(def.output == ms.output);
    const nlohmann::json j = nlohmann::json::parse(sa.output);
    CHECK(j["quality_model"] == "sampled");
    const auto& app = j["apps"][0];
    // The plan's F1 is the sampled reading of pedestrian's smoothed rates at the chosen (k, fps).
    const stemshare::io::apps_file file = stemshare::io::load_apps_file(data_file);
    const stemshare::sched::problem p(stemshare::io::select_apps(file.apps, "pedestrian"), stemshare::sched::cost_model(file.layer_latencies),
                           15.0, stemshare::sched::mode::mainstream, stemshare::sched::quality_model::sampled);
    const stemshare::sched::app_quality expect = p.quality(0, app["num_frozen"].get<int>(), app["fps"].get<double>());
    CHECK(app["f1"].get<double>() == doctest::Approx(expect.f1).epsilon(1e-12));
    const stemshare::sched::app_quality original = stemshare::sched::problem(stemshare::io::select_apps(file.apps, "pedestrian"),
                                                       stemshare::sched::cost_model(file.layer_latencies), 15.0)
                                            .quality(0, app["num_frozen"].get<int>(), app["fps"].get<double>());
    CHECK(expect.f1 != original.f1);
}

TEST_CASE("plan command: --help explains every output field") {
    const run_result r = run("plan --help");
    CHECK(r.status == 0);
    for (const char* field : {"planner", "mode", "quality_model", "budget", "stream_fps", "cost", "mean_f1", "min_f1",
                              "num_frozen", "fps", "f1", "recall", "precision", "suffix_cost"})
        CHECK(r.output.find(std::string("  ") + field + " ") != std::string::npos);
}

TEST_CASE("plan command: bad input exits non-zero with one line naming the problem") {
    const auto expect_error = [](const std::string& args, const std::string& needle) {
        const run_result r = run(args);
        CAPTURE(args);
        CAPTURE(r.output);
        CHECK(r.status != 0);
        CHECK(count_lines(r.output) == 1);
        CHECK(r.output.find(needle) != std::string::npos);
    };
    expect_error("plan --apps " + data_file + " --select bus,tram --budget 100 --json",
                 "unknown app name 'tram'");
    expect_error("plan --apps " + data_file + " --budget 10 --json", "below the cheapest plan");
    expect_error("plan --apps " + data_file + " --budget 100 --quality-model exactish --json",
                 "unknown quality model 'exactish'");
    expect_error("plan --apps " + data_file + " --budget 10 --planner mainstream_greedy --json",
                 "below the cheapest plan");
    expect_error("plan --apps " + data_file + " --budget 100 --planner fastest --json",
                 "unknown planner 'fastest'");
    expect_error("plan --apps " + data_file + " --budget 100 --mode some --json", "unknown mode 'some'");
    expect_error("plan --apps /nonexistent.json --budget 100 --json", "cannot open the app file");
    expect_error("plan --apps " + data_file + " --budget nan --json",
                 "budget: must be a non-negative number");
    expect_error("plan --apps " + data_file + " --budget 100 --fps 0 --json",
                 "--fps: must be a positive frame rate");
    expect_error("plan --apps " + data_file + " --budget 100 --fps -3 --json",
                 "--fps: must be a positive frame rate");

    // A curve without k = 0.
    nlohmann::json doc = nlohmann::json::parse(std::ifstream(data_file));
    auto& curve = doc["apps"][2]["curve"];
    curve.erase(curve.begin());
    const std::string path = "sched_plan_command_no_k0.json";
    std::ofstream(path) << doc.dump();
    expect_error("plan --apps " + path + " --budget 100 --json",
                 "app 'cars': curve has no branch point num_frozen = 0");
    // An empty app list.
    doc["apps"] = nlohmann::json::array();
    std::ofstream(path) << doc.dump();
    expect_error("plan --apps " + path + " --budget 100 --json", "the app list is empty");
    std::remove(path.c_str());
}

TEST_CASE("plan command: --latencies reads what stemshare profile --out writes, and the older layouts") {
    const std::string args = " --select bus,pedestrian,cars --planner exact --json";
    const run_result base = run("plan --apps " + data_file + " --budget 100" + args);
    REQUIRE(base.status == 0);
    const nlohmann::json expected = nlohmann::json::parse(base.output);

    // The shipped latencies, doubled, in each layout; the budget doubled too plans the same apps.
    nlohmann::json doubled = nlohmann::json::array();
    for (double l : sched_test::shipped().layer_latencies) doubled.push_back(2 * l);
    nlohmann::json profile_out = {
        {"model", "inception_v3"},
        {"threads", 1},
        {"layer_latencies", doubled},
        {"benchmark", {{"context", nlohmann::json::object()}, {"benchmarks", nlohmann::json::array()}}}};
    nlohmann::json app_layout;
    app_layout["model"]["layer_latencies"] = doubled;
    const std::string path = "sched_plan_command_latencies.json";
    for (const nlohmann::json& doc : std::vector<nlohmann::json>{profile_out, app_layout, doubled}) {
        CAPTURE(doc.dump().substr(0, 60));
        std::ofstream(path) << doc.dump();
        const run_result r =
            run("plan --apps " + data_file + " --latencies " + path + " --budget 200" + args);
        REQUIRE(r.status == 0);
        const nlohmann::json j = nlohmann::json::parse(r.output);
        CHECK(j["cost"].get<double>() == 2 * expected["cost"].get<double>());
        CHECK(j["apps"].size() == expected["apps"].size());
        for (std::size_t i = 0; i < j["apps"].size(); ++i) {
            CHECK(j["apps"][i]["num_frozen"] == expected["apps"][i]["num_frozen"]);
            CHECK(j["apps"][i]["fps"] == expected["apps"][i]["fps"]);
        }
    }

    std::ofstream(path) << R"({"model": "inception_v3"})";
    const run_result bad = run("plan --apps " + data_file + " --latencies " + path + " --budget 200 --json");
    CHECK(bad.status != 0);
    CHECK(bad.output.find(path + ": expected an array of per-layer latencies") != std::string::npos);
    std::remove(path.c_str());
    const run_result missing =
        run("plan --apps " + data_file + " --latencies /nonexistent.json --budget 200");
    CHECK(missing.status != 0);
    CHECK(missing.output.find("/nonexistent.json: cannot open the latency table") != std::string::npos);
}
