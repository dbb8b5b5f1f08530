// The app-file loader (layout of tests/data/sched/mainstream-apps.json) and --select.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/io/apps_file.hpp>

#include "sched_test_data.hpp"

using namespace stemshare::sched;
using namespace stemshare::io;

namespace {

nlohmann::json minimal() {
    return nlohmann::json::parse(R"({
      "stream_fps": 15,
      "model": {"layer_latencies": [1.0, 2.0, 0.5]},
      "apps": [{"name": "a", "event_length_ms": 500, "event_frequency": 0.2,
                "correlation_coefficient": 0.107,
                "curve": [{"num_frozen": 0, "accuracy": 0.9, "p_identified_inv": 0.1},
                          {"num_frozen": 2, "accuracy": 0.8, "p_identified_inv": 0.2}]}]
    })");
}

}  // namespace

TEST_CASE("apps_file: the shipped file loads with its 9 apps in order") {
    const apps_file& f = sched_test::shipped();
    CHECK(f.stream_fps == 15.0);
    CHECK(f.layer_latencies.size() == 85);
    const std::vector<std::string> names{"pedestrian", "train",     "cars",     "flowers", "cats",
                                         "bus",        "schoolbus", "scramble", "redcar"};
    REQUIRE(f.apps.size() == names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
        CHECK(f.apps[i].name == names[i]);
        CHECK(f.apps[i].curve.size() == 16);
    }
    CHECK(f.apps[1].correlation == 0.125);
    CHECK(f.apps[0].event_frequency == 0.3);
    CHECK(f.apps[0].weight == 1.0);
}

TEST_CASE("apps_file: missing or mistyped fields are named with the app") {
    auto doc = minimal();
    CHECK_NOTHROW((void)parse_apps_file(doc, "f.json"));
    doc["apps"][0].erase("event_frequency");
    CHECK_THROWS_WITH_AS((void)parse_apps_file(doc, "f.json"),
                         "f.json: apps[0] ('a'): missing field 'event_frequency'", stemshare::error);
    doc = minimal();
    doc["apps"][0]["curve"][1]["accuracy"] = "high";
    CHECK_THROWS_WITH_AS((void)parse_apps_file(doc, "f.json"),
                         "f.json: apps[0] ('a').curve[1].accuracy: must be a number", stemshare::error);
    doc = minimal();
    doc["apps"][0]["curve"][0]["num_frozen"] = 0.5;
    CHECK_THROWS_WITH_AS((void)parse_apps_file(doc, "f.json"),
                         "f.json: apps[0] ('a').curve[0].num_frozen: must be an integer", stemshare::error);
    doc = minimal();
    doc["apps"][0]["curve"][1]["num_frozen"] = 4294967298LL;  // would wrap to 2, a valid k
    CHECK_THROWS_WITH_AS((void)parse_apps_file(doc, "f.json"),
                         "f.json: apps[0] ('a').curve[1].num_frozen: is out of range: 4294967298",
                         stemshare::error);
    doc = minimal();
    doc.erase("stream_fps");
    CHECK_THROWS_WITH_AS((void)parse_apps_file(doc, "f.json"), "f.json: missing field 'stream_fps'",
                         stemshare::error);
    doc = minimal();
    doc["model"]["layer_latencies"][1] = nullptr;
    CHECK_THROWS_WITH_AS((void)parse_apps_file(doc, "f.json"),
                         "f.json: model.layer_latencies[1]: must be a number", stemshare::error);
    doc = minimal();
    doc["apps"][0]["weight"] = 2.5;
    CHECK(parse_apps_file(doc, "f.json").apps[0].weight == 2.5);
    CHECK_THROWS_AS((void)load_apps_file("/nonexistent/apps.json"), stemshare::error);
}

TEST_CASE("apps_file: --select picks and orders apps by name, repeats allowed") {
    const auto& apps = sched_test::shipped().apps;
    const auto picked = select_apps(apps, "bus,pedestrian,bus");
    REQUIRE(picked.size() == 3);
    CHECK(picked[0].name == "bus");
    CHECK(picked[1].name == "pedestrian");
    CHECK(picked[2].name == "bus");
    CHECK_THROWS_WITH_AS((void)select_apps(apps, "bus,tram"), doctest::Contains("unknown app name 'tram'"),
                         stemshare::error);
    CHECK_THROWS_AS((void)select_apps(apps, ""), stemshare::error);
}
