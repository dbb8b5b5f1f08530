// Masa, stem-aware (mode masa-stem): segments several networks share (one stem, same weights) stay
// resident between requests while the budget allows, are loaded once while resident, are evicted
// least recently used first when a request needs the memory, and results stay those of solo runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <stemshare/masa/runtime.hpp>

#include "masa/masa_test_checks.hpp"
#include "masa/masa_test_models.hpp"

using namespace stemshare;

namespace {

std::vector<masa::request> requests_for(const std::vector<masa::network>& nets,
                                        const std::vector<std::size_t>& which) {
    std::vector<masa::request> out;
    for (std::size_t i = 0; i < which.size(); ++i)
        out.push_back({which[i], 0.0, test::input_for(nets[which[i]], 300 + i)});
    return out;
}

/// Raw bytes of segments [first, last) of `net`.
std::uint64_t raw_bytes(const masa::network& net, std::size_t first, std::size_t last) {
    std::uint64_t total = 0;
    for (std::size_t s = first; s < last; ++s) total += net.segments()[s].raw_bytes;
    return total;
}

}  // namespace

TEST_CASE("masa stem: apps fine-tuned from one base share the fingerprints of their frozen segments") {
    test::scratch_dir dir("stem-ids");
    const auto nets = test::stem_apps(test::stem_net.to_graph(), 6, 2, 11, dir);
    REQUIRE(nets[0].segments().size() == 5);
    for (std::size_t s = 0; s < 3; ++s) CHECK(nets[0].segments()[s].id == nets[1].segments()[s].id);
    for (std::size_t s = 3; s < 5; ++s) CHECK(nets[0].segments()[s].id != nets[1].segments()[s].id);
}

TEST_CASE("masa stem: shared segments are loaded once while resident, only the suffixes after") {
    test::scratch_dir dir("stem-once");
    const auto nets = test::stem_apps(test::stem_net.to_graph(), 6, 3, 21, dir);
    const auto requests = requests_for(nets, {0, 1, 2, 0, 1, 2});
    // One worker: each segment a request loads runs before any other is loaded (executions first),
    // so a shared segment is resident before a second request could load it.
    masa::runtime stem_rt(test::pointers(nets), {.run_mode = masa::mode::masa_stem, .workers = 1});
    const auto stem = stem_rt.run(test::copy_requests(requests));
    masa::runtime plain_rt(test::pointers(nets), {.run_mode = masa::mode::masa, .workers = 1});
    const auto plain = plain_rt.run(test::copy_requests(requests));
    test::check_all_match_solo(nets, requests, stem);
    test::check_all_match_solo(nets, requests, plain);

    std::vector<int> read_loads(5, 0);
    std::vector<int> resident_loads(5, 0);
    for (const auto& t : stem.trace)
        if (t.kind == masa::task_kind::load) ++(t.resident ? resident_loads : read_loads)[t.segment];
    for (std::size_t s = 0; s < 3; ++s) {
        CAPTURE(s);
        CHECK(read_loads[s] == 1);
        CHECK(resident_loads[s] == 5);
    }
    for (std::size_t s = 3; s < 5; ++s) {
        CHECK(read_loads[s] == 6);
        CHECK(resident_loads[s] == 0);
    }
    CHECK(stem.resident_hits == 15);
    CHECK(stem.bytes_read == raw_bytes(nets[0], 0, 3) + 6 * raw_bytes(nets[0], 3, 5));
    CHECK(plain.bytes_read == 6 * raw_bytes(nets[0], 0, 5));
    CHECK(plain.resident_hits == 0);
    CHECK(stem.peak_resident_bytes > 0);
    CHECK(stem.evictions == 0);
}

TEST_CASE(
    "masa stem: a request that needs the memory evicts unpinned resident segments, never over the budget") {
    test::scratch_dir dir("stem-evict");
    auto nets = test::stem_apps(test::stem_net.to_graph(), 6, 2, 31, dir);
    nets.push_back(test::prepare("big", test::big_net.to_graph(), 32, dir));
    // The big network needs the whole budget: it can only be admitted once nothing is resident.
    const std::uint64_t budget = masa::requirement_of(nets[2], masa::mode::masa).bytes;
    REQUIRE(masa::requirement_of(nets[0], masa::mode::masa).bytes < budget / 2);
    const auto requests = requests_for(nets, {0, 1, 2, 0, 1});
    for (int workers : {1, 2}) {
        CAPTURE(workers);
        masa::runtime rt(test::pointers(nets),
                         {.run_mode = masa::mode::masa_stem, .budget_bytes = budget, .workers = workers});
        const auto report = rt.run(test::copy_requests(requests));
        test::check_all_match_solo(nets, requests, report);
        CHECK(report.peak_reserved_bytes <= budget);
        CHECK(report.peak_held_bytes <= report.peak_reserved_bytes);
        CHECK(report.resident_hits > 0);
        CHECK(report.evictions > 0);
    }
}

TEST_CASE("masa stem: random stems, budgets and arrivals never cross the budget, results are solo bits") {
    test::scratch_dir dir("stem-property");
    std::mt19937_64 rng(77);
    const auto pick = [&](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    for (int trial = 0; trial < 4; ++trial) {
        CAPTURE(trial);
        graph g(shape{3, 16, 16});
        std::vector<std::size_t> points{0};
        const std::int64_t convs = pick(2, 3);
        for (std::int64_t c = 0; c < convs; ++c) {
            g.add(
                "c" + std::to_string(c),
                conv2d_spec{.out_channels = 4 * pick(1, 6), .kernel = 3, .stride = pick(1, 2), .padding = 1});
            g.add("r" + std::to_string(c), activation_spec{activation_kind::relu});
            points.push_back(g.size());
        }
        g.add("fc0", dense_spec{.out_features = 16 * pick(1, 16)});
        points.push_back(g.size());
        g.add("fc1", dense_spec{.out_features = 10});
        points.push_back(g.size());
        g.set_branch_points(points);
        const std::size_t cut = points[static_cast<std::size_t>(pick(1, convs + 1))];
        auto nets = test::stem_apps(g, cut, 3, static_cast<std::uint64_t>(100 * trial), dir,
                                    "t" + std::to_string(trial) + "a");
        nets.push_back(test::prepare("t" + std::to_string(trial) + "mid", test::mid_net.to_graph(),
                                     static_cast<std::uint64_t>(100 * trial + 50), dir));
        std::uint64_t smallest = ~0ULL;
        std::uint64_t largest = 0;
        for (const auto& n : nets) {
            smallest = std::min(smallest, masa::requirement_of(n, masa::mode::masa_stem).bytes);
            largest = std::max(largest, masa::requirement_of(n, masa::mode::masa_stem).bytes);
        }
        const std::uint64_t budget = std::uniform_int_distribution<std::uint64_t>(smallest, 2 * largest)(rng);
        std::vector<masa::request> requests;
        double t = 0;
        std::exponential_distribution<double> gap(500.0);
        for (int r = 0; r < 10; ++r) {
            const auto n = static_cast<std::size_t>(rng() % nets.size());
            requests.push_back({n, t, test::input_for(nets[n], rng())});
            t += gap(rng);
        }
        masa::runtime rt(test::pointers(nets), {.run_mode = masa::mode::masa_stem, .budget_bytes = budget});
        const auto report = rt.run(test::copy_requests(requests));
        CHECK(report.peak_reserved_bytes <= budget);
        CHECK(report.peak_held_bytes <= report.peak_reserved_bytes);
        for (std::size_t i = 0; i < requests.size(); ++i) {
            const auto& res = report.results[i];
            CAPTURE(i);
            CAPTURE(res.error);
            const bool fits =
                masa::requirement_of(nets[requests[i].network], masa::mode::masa_stem).bytes <= budget;
            CHECK(res.refused == !fits);
            if (fits) {
                REQUIRE(res.ok());
                CHECK(test::same_bits(res.output,
                                      masa::solo_run(nets[requests[i].network], requests[i].input)));
            }
        }
    }
}
