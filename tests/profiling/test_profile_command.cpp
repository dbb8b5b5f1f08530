// `stemshare profile`: the printed summary, the --out JSON (Google Benchmark's report plus the
// table, read back by the `plan --latencies` reader) and one-line errors, through the real binary.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/profiling/latency_table.hpp>

#include "support/run_cli.hpp"

namespace {

using run_result = stemshare::test::cli_result;

run_result run(const std::string& args) {
    return stemshare::test::run_cli(args);
}

}  // namespace

TEST_CASE("profile command: --out is Google Benchmark's JSON plus the table, and plan's reader reads it") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("stemshare-profile-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string json_path = (dir / "table.json").string();
    const std::string csv_path = (dir / "table.csv").string();
    const run_result r = run("profile --model fashion_mobilenet --threads 1 --runs 3 --warmup 1 --out " +
                             json_path + " --csv " + csv_path);
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("fashion_mobilenet  f32  1 thread(s)  batch 1") != std::string::npos);
    CHECK(r.output.find("whole model: median") != std::string::npos);
    CHECK(r.output.find("(3 runs)") != std::string::npos);
    CHECK(r.output.find("sum of layer medians:") != std::string::npos);

    const nlohmann::json doc = nlohmann::json::parse(std::ifstream(json_path));
    CHECK(doc["model"] == "fashion_mobilenet");
    CHECK(doc["runs"] == 3);
    REQUIRE(doc["benchmark"]["benchmarks"].is_array());
    std::size_t repetitions = 0;
    for (const auto& b : doc["benchmark"]["benchmarks"]) {
        CHECK(b["run_name"].get<std::string>().rfind(
                  "stemshare_profile/fashion_mobilenet/f32/threads:1/batch:1/runs:3/", 0) == 0);
        repetitions += b["run_type"] == "iteration" ? 1 : 0;
    }
    CHECK(repetitions == 6);
    const std::vector<double> latencies = stemshare::profiling::read_layer_latencies(json_path);
    REQUIRE(latencies.size() == doc["layers"].size());
    for (std::size_t i = 0; i < latencies.size(); ++i)
        CHECK(latencies[i] == doc["layers"][i]["median_us"].get<double>() * 1e-6);
    std::filesystem::remove_all(dir);
}

TEST_CASE("profile command: bad options exit non-zero with one line naming the option") {
    const auto expect_error = [](const std::string& args, const std::string& needle) {
        const run_result r = run(args);
        CAPTURE(args);
        CAPTURE(r.output);
        CHECK(r.status != 0);
        CHECK(r.output.find(needle) != std::string::npos);
    };
    expect_error("profile --model fashion_mobilenet --threads 0",
                 "profile: --threads: must be a positive number");
    expect_error("profile --model fashion_mobilenet --runs 0", "profile: --runs: must be at least 1, got 0");
    expect_error("profile --model resnet51", "known models");
}
