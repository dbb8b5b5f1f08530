// Masa runtime: each mode's task order on a hand-built 3-network trace, Masa's picks, the hard
// budget (refusals, a property test over random models, budgets and arrivals), failures of weight
// files while requests wait, and results bit for bit equal to a solo run.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <stemshare/masa/runtime.hpp>

#include "masa/masa_test_checks.hpp"
#include "masa/masa_test_models.hpp"
#include "support/error_of.hpp"

using namespace stemshare;
using masa::task_kind;

namespace {

/// One request per network, all at time 0, in network order.
std::vector<masa::request> one_each(const std::vector<masa::network>& nets) {
    std::vector<masa::request> out;
    for (std::size_t i = 0; i < nets.size(); ++i) out.push_back({i, 0.0, test::input_for(nets[i], 100 + i)});
    return out;
}

/// "r0:INIT r0:L0 r0:E0 ...": the trace in start order.
std::string order_of(const masa::run_report& r) {
    std::string out;
    for (const auto& t : r.trace) {
        out += (out.empty() ? "" : " ") + std::string("r") + std::to_string(t.request) + ":";
        out += t.kind == task_kind::init
                   ? "INIT"
                   : std::string(t.kind == task_kind::load ? "L" : "E") + std::to_string(t.segment);
    }
    return out;
}

std::vector<masa::task_record> tasks_of(const masa::run_report& r, std::size_t request) {
    std::vector<masa::task_record> out;
    for (const auto& t : r.trace)
        if (t.request == request) out.push_back(t);
    return out;
}

}  // namespace

TEST_CASE(
    "masa modes: bulk and linear run each network's tasks in their fixed order, one network at a time") {
    test::scratch_dir dir("order");
    const auto nets = test::three_nets(dir);
    {
        masa::runtime rt(test::pointers(nets), {.run_mode = masa::mode::bulk});
        const auto report = rt.run(one_each(nets));
        CHECK(order_of(report) ==
              "r0:INIT r0:L0 r0:L1 r0:L2 r0:E0 r0:E1 r0:E2 "
              "r1:INIT r1:L0 r1:L1 r1:L2 r1:L3 r1:E0 r1:E1 r1:E2 r1:E3 "
              "r2:INIT r2:L0 r2:L1 r2:L2 r2:L3 r2:L4 r2:L5 r2:E0 r2:E1 r2:E2 r2:E3 r2:E4 r2:E5");
        test::check_all_match_solo(nets, one_each(nets), report);
    }
    {
        masa::runtime rt(test::pointers(nets), {.run_mode = masa::mode::linear});
        const auto report = rt.run(one_each(nets));
        CHECK(order_of(report) ==
              "r0:INIT r0:L0 r0:E0 r0:L1 r0:E1 r0:L2 r0:E2 "
              "r1:INIT r1:L0 r1:E0 r1:L1 r1:E1 r1:L2 r1:E2 r1:L3 r1:E3 "
              "r2:INIT r2:L0 r2:E0 r2:L1 r2:E1 r2:L2 r2:E2 r2:L3 r2:E3 r2:L4 r2:E4 r2:L5 r2:E5");
        test::check_all_match_solo(nets, one_each(nets), report);
    }
    {
        // SJF admits by profiled job length: given big, mid, tiny it runs tiny, mid, big.
        std::vector<masa::request> reversed;
        for (std::size_t i = 3; i-- > 0;) reversed.push_back({i, 0.0, test::input_for(nets[i], 7)});
        masa::runtime rt(test::pointers(nets),
                         {.run_mode = masa::mode::linear, .scheduler = masa::scheduler_kind::sjf});
        const auto report = rt.run(test::copy_requests(reversed));
        std::vector<std::size_t> init_order;
        for (const auto& t : report.trace)
            if (t.kind == task_kind::init) init_order.push_back(t.request);
        CHECK(init_order == std::vector<std::size_t>{2, 1, 0});
    }
}

TEST_CASE("masa modes: partial loads ahead on the other worker, networks never overlap") {
    test::scratch_dir dir("partial");
    const auto nets = test::three_nets(dir);
    masa::runtime rt(test::pointers(nets), {.run_mode = masa::mode::partial});
    const auto report = rt.run(one_each(nets));
    test::check_all_match_solo(nets, one_each(nets), report);
    double previous_end = 0;
    for (std::size_t r = 0; r < 3; ++r) {
        const auto tasks = tasks_of(report, r);
        REQUIRE(!tasks.empty());
        CHECK(tasks.front().kind == task_kind::init);
        CHECK(tasks.front().start_s >= previous_end);
        std::map<std::size_t, double> load_end;
        std::size_t next_load = 0;
        std::size_t next_exec = 0;
        for (const auto& t : tasks) {
            if (t.kind == task_kind::load) {
                CHECK(t.segment == next_load++);  // loads in order
                load_end[t.segment] = t.end_s;
            } else if (t.kind == task_kind::exec) {
                CHECK(t.segment == next_exec++);
                REQUIRE(load_end.count(t.segment) == 1);
                CHECK(t.start_s >= load_end[t.segment]);  // EXEC i after LOAD i
            }
            previous_end = std::max(previous_end, t.end_s);
        }
    }
}

TEST_CASE("masa scheduler: with one worker it runs executions first and admits the shortest network first") {
    test::scratch_dir dir("masa-pick");
    auto nets = test::three_nets(dir);
    // The measured profile of millisecond networks can invert on a loaded machine: give the
    // scheduler fixed times in their order of size (what it orders by is checked, not the timer).
    nets[0].use_layer_latencies(std::vector<double>(nets[0].skeleton().size(), 1e-4), "tiny, fixed");
    nets[2].use_layer_latencies(std::vector<double>(nets[2].skeleton().size(), 1e-2), "big, fixed");
    REQUIRE(nets[0].exec_seconds() < nets[2].exec_seconds());
    std::vector<masa::request> requests;
    for (std::size_t i : {2, 0}) requests.push_back({i, 0.0, test::input_for(nets[i], 9)});
    masa::runtime rt(test::pointers(nets), {.run_mode = masa::mode::masa, .workers = 1});
    const auto report = rt.run(test::copy_requests(requests));
    // tiny (request 1) is admitted first; an EXEC runs as soon as one is ready, so tiny runs L/E
    // in turn; then big; INIT of big comes after tiny's work only when tiny has nothing runnable.
    const std::string order = order_of(report);
    CHECK(order.rfind("r1:INIT r1:L0 r1:E0 r1:L1 r1:E1 r1:L2 r1:E2", 0) == 0);
    CHECK(order.find("r0:INIT") > order.find("r1:E2"));
    test::check_all_match_solo(nets, requests, report);
}

TEST_CASE("masa scheduler: a latency table given for a network replaces its own profile in the order") {
    test::scratch_dir dir("masa-table");
    auto nets = test::three_nets(dir);
    CHECK(nets[2].exec_source() == "segment profile");
    // A table that makes big the shortest network and tiny the longest.
    nets[2].use_layer_latencies(std::vector<double>(nets[2].skeleton().size(), 1e-9), "big.json");
    nets[0].use_layer_latencies(std::vector<double>(nets[0].skeleton().size(), 10.0), "tiny.json");
    CHECK(nets[2].exec_source() == "latency table big.json");
    CHECK(nets[2].exec_seconds() < nets[0].exec_seconds());
    std::vector<masa::request> requests;
    for (std::size_t i : {0, 2}) requests.push_back({i, 0.0, test::input_for(nets[i], 9)});
    for (auto m : {masa::mode::masa, masa::mode::linear}) {
        // Masa's shortest network first, and SJF (profiled load + execution) in linear mode.
        masa::runtime rt(test::pointers(nets),
                         {.run_mode = m, .scheduler = masa::scheduler_kind::sjf, .workers = 1});
        const auto report = rt.run(test::copy_requests(requests));
        CHECK(order_of(report).rfind("r1:INIT r1:L0 r1:E0", 0) == 0);
        test::check_all_match_solo(nets, requests, report);
    }
    const std::string e = test::error_of([&] { nets[1].use_layer_latencies({1.0, 2.0}, "short.json"); });
    CHECK(e.find("mid") != std::string::npos);
    CHECK(e.find("short.json") != std::string::npos);
    CHECK(e.find("has 2 layer latencies") != std::string::npos);
}

TEST_CASE("masa scheduler: two workers overlap networks, admitted by memory, never over the budget") {
    test::scratch_dir dir("masa-overlap");
    const auto nets = test::three_nets(dir);
    std::vector<masa::request> requests;
    for (int k = 0; k < 3; ++k)
        for (std::size_t i = 0; i < 3; ++i) requests.push_back({i, 0.0, test::input_for(nets[i], 20 + i)});
    const std::uint64_t budget = masa::requirement_of(nets[2], masa::mode::masa).bytes * 3 / 2;
    masa::runtime rt(test::pointers(nets), {.run_mode = masa::mode::masa, .budget_bytes = budget});
    const auto report = rt.run(test::copy_requests(requests));
    test::check_all_match_solo(nets, requests, report);
    CHECK(report.peak_reserved_bytes <= budget);
    CHECK(report.peak_held_bytes <= report.peak_reserved_bytes);
    // Some network starts before another one has finished.
    bool overlap = false;
    for (std::size_t a = 0; a < requests.size(); ++a)
        for (std::size_t b = 0; b < requests.size(); ++b)
            if (a != b) {
                const auto& ra = report.results[a];
                const auto& rb = report.results[b];
                overlap = overlap || (rb.start_s > ra.start_s && rb.start_s < ra.finish_s);
            }
    CHECK(overlap);
}

TEST_CASE("masa modes: deepeye splits conv and fully-connected work between the workers") {
    test::scratch_dir dir("deepeye");
    const auto nets = test::three_nets(dir);
    for (auto m : {masa::mode::deepeye, masa::mode::deepeye_frugal}) {
        CAPTURE(std::string(to_string(m)));
        std::vector<masa::request> requests;
        for (std::size_t i : {2, 1, 2}) requests.push_back({i, 0.0, test::input_for(nets[i], 30 + i)});
        masa::runtime rt(test::pointers(nets), {.run_mode = m});
        const auto report = rt.run(test::copy_requests(requests));
        test::check_all_match_solo(nets, requests, report);
        double previous_fc_exec_end = 0;
        for (std::size_t r = 0; r < requests.size(); ++r) {
            const auto& segs = nets[requests[r].network].segments();
            double fc_loads_end = 0;
            double conv_exec_end = 0;
            double first_fc_exec = 1e9;
            double first_fc_load = 1e9;
            double fc_exec_end = 0;
            for (const auto& t : tasks_of(report, r)) {
                const bool fc = t.kind != task_kind::init && segs[t.segment].fully_connected;
                if (t.kind == task_kind::load && fc) {
                    CHECK(t.worker == 1);
                    fc_loads_end = std::max(fc_loads_end, t.end_s);
                    first_fc_load = std::min(first_fc_load, t.start_s);
                } else {
                    CHECK(t.worker == 0);
                }
                if (t.kind == task_kind::exec && !fc) conv_exec_end = std::max(conv_exec_end, t.end_s);
                if (t.kind == task_kind::exec && fc) {
                    first_fc_exec = std::min(first_fc_exec, t.start_s);
                    fc_exec_end = std::max(fc_exec_end, t.end_s);
                }
            }
            CHECK(first_fc_exec >= fc_loads_end);
            CHECK(first_fc_exec >= conv_exec_end);
            if (m == masa::mode::deepeye_frugal) CHECK(first_fc_load >= previous_fc_exec_end);
            previous_fc_exec_end = fc_exec_end;
        }
    }
}

TEST_CASE("masa budget: a budget below one layer refuses every request before anything loads") {
    test::scratch_dir dir("refuse");
    const auto nets = test::three_nets(dir);
    for (auto m : masa::all_modes) {
        masa::runtime rt(test::pointers(nets), {.run_mode = m, .budget_bytes = 16 * 1024});
        const auto report = rt.run(one_each(nets));
        CHECK(report.trace.empty());
        CHECK(report.bytes_read == 0);
        for (const auto& r : report.results) {
            CHECK(r.refused);
            CHECK(r.error.find("memory budget is 0.0 MB") != std::string::npos);
            CHECK(r.error.find("needs") != std::string::npos);
            CHECK(r.error.find("network '") != std::string::npos);
        }
    }
}

TEST_CASE(
    "masa failures: a weight file truncated or deleted while requests wait fails those, the rest complete") {
    test::scratch_dir dir("fail");
    const auto nets = test::three_nets(dir);
    std::vector<masa::request> requests;
    for (int k = 0; k < 2; ++k)
        for (std::size_t i = 0; i < 3; ++i)
            requests.push_back({i, 0.02 * k, test::input_for(nets[i], 40 + i)});
    std::vector<tensor<float>> solo;
    for (const auto& r : requests) solo.push_back(masa::solo_run(nets[r.network], r.input));
    const auto mid_path = nets[1].store().path();
    std::filesystem::resize_file(mid_path, std::filesystem::file_size(mid_path) / 2);
    std::filesystem::remove(nets[2].store().path());
    for (auto m : {masa::mode::linear, masa::mode::masa, masa::mode::deepeye}) {
        CAPTURE(std::string(to_string(m)));
        masa::runtime rt(test::pointers(nets), {.run_mode = m});
        const auto report = rt.run(test::copy_requests(requests));
        for (std::size_t i = 0; i < requests.size(); ++i) {
            const auto& res = report.results[i];
            CAPTURE(i);
            if (requests[i].network == 0) {
                CHECK(res.ok());
                CHECK(test::same_bits(res.output, solo[i]));
            } else {
                CHECK_FALSE(res.refused);
                CHECK(res.error.find(requests[i].network == 1 ? "mid.safetensors" : "big.safetensors") !=
                      std::string::npos);
                CHECK(res.error.find(requests[i].network == 1 ? "truncated" : "cannot open") !=
                      std::string::npos);
            }
        }
    }
}

TEST_CASE(
    "masa property: random models, budgets and arrivals never cross the budget, results are solo bits") {
    test::scratch_dir dir("property");
    std::mt19937_64 rng(2024);
    for (int trial = 0; trial < 6; ++trial) {
        CAPTURE(trial);
        std::vector<masa::network> nets;
        for (int k = 0; k < 3; ++k) {
            const auto pick = [&](std::int64_t lo, std::int64_t hi) {
                return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
            };
            const std::int64_t side = 8 * pick(1, 4);
            graph g(shape{3, side, side});
            const std::int64_t convs = pick(1, 3);
            std::vector<std::size_t> points{0};
            for (std::int64_t c = 0; c < convs; ++c) {
                g.add("c" + std::to_string(c),
                      conv2d_spec{
                          .out_channels = 4 * pick(1, 8), .kernel = 3, .stride = pick(1, 2), .padding = 1});
                g.add("r" + std::to_string(c), activation_spec{activation_kind::relu});
                points.push_back(g.size());
            }
            const std::int64_t fcs = pick(1, 3);
            for (std::int64_t f = 0; f < fcs; ++f) {
                g.add("fc" + std::to_string(f), dense_spec{.out_features = 16 * pick(1, 32)});
                points.push_back(g.size());
            }
            g.set_branch_points(points);
            nets.push_back(test::prepare("t" + std::to_string(trial) + "n" + std::to_string(k), std::move(g),
                                         static_cast<std::uint64_t>(trial * 10 + k), dir));
        }
        const auto m = masa::all_modes[static_cast<std::size_t>(trial) % masa::all_modes.size()];
        CAPTURE(std::string(to_string(m)));
        std::uint64_t smallest = ~0ULL;
        std::uint64_t largest = 0;
        for (const auto& n : nets) {
            smallest = std::min(smallest, masa::requirement_of(n, m).bytes);
            largest = std::max(largest, masa::requirement_of(n, m).bytes);
        }
        // Between "some requests can never fit" and "two large ones fit at once".
        const std::uint64_t budget = std::uniform_int_distribution<std::uint64_t>(smallest, 2 * largest)(rng);
        std::vector<masa::request> requests;
        double t = 0;
        std::exponential_distribution<double> gap(500.0);  // 2 ms mean
        for (int r = 0; r < 8; ++r) {
            const auto n = static_cast<std::size_t>(rng() % nets.size());
            requests.push_back({n, t, test::input_for(nets[n], rng())});
            t += gap(rng);
        }
        masa::runtime rt(test::pointers(nets), {.run_mode = m, .budget_bytes = budget});
        const auto report = rt.run(test::copy_requests(requests));
        CHECK(report.peak_reserved_bytes <= budget);
        CHECK(report.peak_held_bytes <= report.peak_reserved_bytes);
        for (std::size_t i = 0; i < requests.size(); ++i) {
            const auto& res = report.results[i];
            CAPTURE(i);
            CAPTURE(res.error);
            const bool fits = masa::requirement_of(nets[requests[i].network], m).bytes <= budget;
            CHECK(res.refused == !fits);
            if (fits) {
                REQUIRE(res.ok());
                CHECK(test::same_bits(res.output,
                                      masa::solo_run(nets[requests[i].network], requests[i].input)));
            }
        }
    }
}
