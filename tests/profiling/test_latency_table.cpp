// Latency tables: the JSON and CSV a profile writes, and the table's own consistency. No speed is
// asserted; the one timing property checked compares two numbers measured in the same process.
#include <doctest/doctest.h>

#include <cstddef>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include <stemshare/profiling/profile.hpp>
#include <stemshare/zoo/zoo.hpp>

using namespace stemshare;

namespace {

profiling::latency_table profile_fashion(std::size_t runs = 15) {
    graph g = zoo::make_graph("fashion_mobilenet");
    g.bind_random(5);
    return profiling::profile(g, "fashion_mobilenet", {.threads = 1, .runs = runs, .warmup = 3});
}

}  // namespace

TEST_CASE("profiling: the table JSON parses back with one row per layer and consistent fields") {
    const auto table = profile_fashion();
    const graph g = zoo::make_graph("fashion_mobilenet");
    const auto doc = nlohmann::json::parse(table.to_json().dump());
    CHECK(doc["model"] == "fashion_mobilenet");
    CHECK(doc["threads"] == 1);
    CHECK(doc["dtype"] == "f32");
    CHECK(doc["flops"].get<std::int64_t>() == g.flops());
    REQUIRE(doc["layers"].size() == g.size());
    REQUIRE(doc["layer_latencies"].size() == g.size());
    std::size_t branch_flags = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
        const auto& row = doc["layers"][i];
        CAPTURE(i);
        CHECK(row["index"] == i);
        CHECK(row["name"] == g.at(i).name);
        CHECK(row["flops"].get<std::int64_t>() == g.at(i).flops());
        CHECK(row["median_us"].get<double>() >= 0);
        CHECK(row["p90_us"].get<double>() >= row["median_us"].get<double>());
        CHECK(doc["layer_latencies"][i].get<double>() ==
              doctest::Approx(row["median_us"].get<double>() * 1e-6));
        if (!row["fused_into"].is_null()) {
            // A fused layer has no time of its own and names an earlier layer that does.
            CHECK(row["median_us"].get<double>() == 0);
            CHECK(row["fused_into"].get<std::size_t>() < i);
            CHECK(row["steps"].empty());
        } else {
            CHECK(!row["steps"].empty());
        }
        branch_flags += row["branch_point"].get<bool>() ? 1 : 0;
    }
    // Every branch point but 0 flags the layer it follows.
    CHECK(branch_flags == g.branch_points().size() - 1);
    // Segments tile the layers between consecutive branch points.
    std::size_t expected_begin = 0;
    std::int64_t segment_flops = 0;
    for (const auto& seg : doc["segments"]) {
        CHECK(seg["begin"] == expected_begin);
        expected_begin = seg["end"].get<std::size_t>();
        segment_flops += seg["flops"].get<std::int64_t>();
    }
    CHECK(expected_begin == g.size());
    CHECK(segment_flops == g.flops());
}

TEST_CASE("profiling: the CSV has a header and one quoted row per layer") {
    const auto table = profile_fashion(5);
    std::istringstream csv(table.to_csv());
    std::string line;
    REQUIRE(std::getline(csv, line));
    CHECK(line == "index,name,kind,input_shapes,output_shape,flops,median_us,p90_us,branch_point,fused_into");
    std::size_t rows = 0;
    while (std::getline(csv, line)) {
        CHECK(line.rfind(std::to_string(rows) + ",\"", 0) == 0);
        ++rows;
    }
    CHECK(rows == table.layers.size());
}

TEST_CASE("profiling: zero or negative threads, zero runs and an unknown model are clear errors") {
    graph g = zoo::make_graph("fashion_mobilenet");
    g.bind_random(1);
    CHECK_THROWS_WITH_AS((void)profiling::profile(g, "m", {.threads = 0}),
                         doctest::Contains("threads must be a positive number, got 0"), error);
    CHECK_THROWS_WITH_AS((void)profiling::profile(g, "m", {.threads = -2}),
                         doctest::Contains("threads must be a positive number, got -2"), error);
    CHECK_THROWS_WITH_AS((void)profiling::profile(g, "m", {.threads = 1, .runs = 0}),
                         doctest::Contains("runs must be at least 1"), error);
    CHECK_THROWS_WITH_AS((void)zoo::make_graph("resnet51"), doctest::Contains("known models: mobilenet_v1"),
                         error);
}

TEST_CASE("profiling: summarize gives the median and the nearest-rank 90th percentile") {
    const auto t = profiling::summarize({5e-6, 1e-6, 3e-6, 2e-6, 4e-6, 6e-6, 7e-6, 8e-6, 9e-6, 10e-6});
    CHECK(t.median_us == doctest::Approx(5.5));
    CHECK(t.p90_us == doctest::Approx(9.0));
    CHECK(profiling::summarize({}).median_us == 0);
}
