#pragma once
// `stemshare masa`: many DNNs under a hard memory budget, layer by layer (DESIGN section 8). Sweeps
// budgets x modes x schedulers over one arrival trace; prints a table, writes results.json, and
// plots response time and peak memory against the budget (gnuplot, as the demo does).

#include <malloc.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/masa/arrivals.hpp>
#include <stemshare/masa/network_set.hpp>
#include <stemshare/masa/process_memory.hpp>
#include <stemshare/masa/runtime.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/zoo/zoo.hpp>

#include "write_file.hpp"

namespace stemshare::tools {

namespace masa_detail {

struct options {
    std::string set = "mixed-3";
    std::string budgets = "256,512,1024,0";
    std::string modes = "bulk,linear,partial,masa,deepeye,deepeye-frugal";
    std::string schedulers = "fcfs,sjf";
    std::string arrival = "batch";
    int repeats = 1;
    int requests = 12;
    double rate = 2.0;
    double normal_mean = 0.5;
    double normal_sigma = 0.5;
    std::string arrivals_file;
    double bandwidth_mbps = 0;
    int workers = 2;
    std::uint64_t seed = 42;
    std::string out = "out/masa";
    std::string weights;
    bool quick = false;
};

inline std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

/// One run of the sweep and what it measured.
struct row {
    std::uint64_t budget = 0;
    std::string mode;
    std::string scheduler;
    std::size_t completed = 0;
    std::size_t refused = 0;
    std::size_t failed = 0;
    std::size_t mismatched = 0;
    double mean_s = 0;
    double p95_s = 0;
    double wall_s = 0;
    std::uint64_t peak_held = 0;
    std::uint64_t peak_reserved = 0;
    std::uint64_t rss_over_baseline = 0;
    std::uint64_t bytes_read = 0;
    bool accounted_violation = false;
    bool rss_violation = false;
};

/// Memory a run allocates that no budget models (worker stacks and allocator arenas, JIT code of
/// primitives first compiled in the run): allowed on top of the budget when checking the measured
/// peak RSS, and reported with it.
constexpr std::uint64_t rss_allowance = 16ULL << 20;

inline double mb(std::uint64_t bytes) {
    return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

inline void plot(const std::filesystem::path& out, const std::vector<row>& rows,
                 const std::vector<std::uint64_t>& budgets) {
    std::map<std::string, std::vector<const row*>> series;
    for (const auto& r : rows) series[r.mode + "/" + r.scheduler].push_back(&r);
    std::ostringstream dat;
    for (const auto& [name, rs] : series) {
        dat << "# " << name << "\n";
        for (const row* r : rs) {
            const auto idx = std::find(budgets.begin(), budgets.end(), r->budget) - budgets.begin();
            // '?' (skipped by gnuplot) marks a run that refused or failed a request: its mean is over
            // the others only and would not compare with the rest.
            const bool whole = r->refused == 0 && r->failed == 0;
            const std::string mean = whole ? std::to_string(r->mean_s) : "?";
            const std::string p95 = whole ? std::to_string(r->p95_s) : "?";
            dat << idx << " " << mean << " " << p95 << " " << mb(r->peak_held) << " "
                << mb(r->rss_over_baseline) << "\n";
        }
        dat << "\n\n";
    }
    write_file((out / "masa.dat").string(), dat.str());
    std::ostringstream tics;
    for (std::size_t i = 0; i < budgets.size(); ++i)
        tics << (i ? ", " : "") << "'" << masa::format_bytes(budgets[i]) << "' " << i;
    std::ostringstream gp;
    gp << "set terminal pngcairo size 1500,500\nset output '" << (out / "masa.png").string() << "'\n"
       << "set datafile missing '?'\nset multiplot layout 1,3\nset xtics (" << tics.str()
       << ")\nset key top right font ',8'\n"
       << "set xlabel 'memory budget'\nset xrange [-0.3:" << static_cast<double>(budgets.size()) - 0.7
       << "]\n";
    const auto lines = [&](int column, const char* style) {
        std::ostringstream s;
        std::size_t i = 0;
        for (const auto& entry : series) {
            s << (i ? ", " : "") << "'" << (out / "masa.dat").string() << "' index " << i
              << " using 1:" << column << " with " << style << " title '" << entry.first << "'";
            ++i;
        }
        return s.str();
    };
    gp << "set title 'mean response time'\nset ylabel 's'\nplot " << lines(2, "linespoints") << "\n";
    gp << "set title 'p95 response time'\nplot " << lines(3, "linespoints") << "\n";
    std::ostringstream budget_line;
    for (std::size_t i = 0; i < budgets.size(); ++i)
        if (budgets[i] != masa::memory_budget::unlimited)
            budget_line << (budget_line.tellp() > 0 ? "\n" : "") << i << " " << mb(budgets[i]);
    write_file((out / "budget.dat").string(), budget_line.str() + "\n");
    gp << "set title 'peak memory (accounted)'\nset ylabel 'MB'\nplot " << lines(4, "linespoints") << ", '"
       << (out / "budget.dat").string() << "' using 1:2 with points pt 5 ps 2 lc rgb 'black' title 'budget'\n"
       << "unset multiplot\n";
    write_file((out / "masa.gp").string(), gp.str());
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        std::printf(
            "gnuplot is not installed (Debian: apt-get install gnuplot-nox): no PNG; the data is in %s\n",
            (out / "masa.dat").string().c_str());
        return;
    }
    const std::string cmd = "gnuplot '" + (out / "masa.gp").string() + "'";
    if (std::system(cmd.c_str()) != 0)
        std::printf("gnuplot failed on %s: no PNG\n", (out / "masa.gp").string().c_str());
    else
        std::printf("wrote %s\n", (out / "masa.png").string().c_str());
}

inline void run(options o) {
    const auto t_start = std::chrono::steady_clock::now();
    // Large blocks always come from mmap and go back to the kernel when freed, so the resident set
    // follows what the runtime holds (glibc would otherwise raise its threshold and keep them).
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    if (o.quick) {
        o.set = "small-3";
        o.budgets = "16,32,0";
        o.repeats = std::min(o.repeats, 2);
        o.requests = std::min(o.requests, 6);
        o.schedulers = "fcfs";
    }
    if (o.workers < 2) throw error("masa: --workers", "must be at least 2 (deepeye needs two)");
    if (o.repeats < 1 || o.requests < 1) throw error("masa: --repeats/--requests", "must be at least 1");
    const masa::network_set set = masa::find_network_set(o.set);
    std::vector<std::uint64_t> budgets;
    for (const auto& b : split(o.budgets)) {
        const double v = std::stod(b);
        if (v < 0) throw error("masa: --budgets", "a budget must not be negative, got " + b);
        budgets.push_back(v == 0 ? masa::memory_budget::unlimited
                                 : static_cast<std::uint64_t>(v * 1024 * 1024));
    }
    std::vector<std::pair<masa::mode, masa::scheduler_kind>> combos;
    for (const auto& m : split(o.modes)) {
        const masa::mode mode = masa::parse_mode(m);
        if (mode == masa::mode::masa)
            combos.emplace_back(mode, masa::scheduler_kind::masa);
        else
            for (const auto& s : split(o.schedulers)) combos.emplace_back(mode, masa::parse_scheduler(s));
    }
    const std::filesystem::path out(o.out);
    const std::filesystem::path weights =
        o.weights.empty() ? out / "weights" : std::filesystem::path(o.weights);
    std::filesystem::create_directories(weights);
    const masa::read_options reads{.cold = true, .bandwidth_bytes_per_s = o.bandwidth_mbps * 1024 * 1024};

    std::vector<masa::network> nets;
    for (std::size_t i = 0; i < set.networks.size(); ++i) {
        const std::string& name = set.networks[i];
        std::printf("[prepare %zu/%zu] %s: writing weights and profiling each segment...\n", i + 1,
                    set.networks.size(), name.c_str());
        std::fflush(stdout);
        graph g = zoo::make_graph(name);
        g.bind_random(o.seed + i);
        nets.push_back(masa::network::prepare(name, g, weights / (name + ".safetensors"), reads));
        const auto& n = nets.back();
        std::printf("  %zu segments, %.1f MB of weights, exec %.1f ms, cold load %.1f ms%s\n",
                    n.segments().size(), mb(n.store().total_bytes()), n.exec_seconds() * 1e3,
                    (n.job_seconds() - n.exec_seconds()) * 1e3,
                    o.bandwidth_mbps > 0 ? " (bandwidth emulated)" : "");
    }
    std::vector<const masa::network*> pointers;
    for (const auto& n : nets) pointers.push_back(&n);

    std::vector<masa::arrival> arrivals;
    if (o.arrival == "batch")
        arrivals = masa::batch_arrivals(set.networks, o.repeats);
    else if (o.arrival == "poisson")
        arrivals = masa::poisson_arrivals(set.networks, o.requests, o.rate, o.seed);
    else if (o.arrival == "normal")
        arrivals = masa::normal_arrivals(set.networks, o.requests, o.normal_mean, o.normal_sigma, o.seed);
    else if (o.arrival == "file")
        arrivals = masa::read_arrivals(o.arrivals_file);
    else
        throw error("masa: --arrival", "must be batch, poisson, normal or file, got '" + o.arrival + "'");
    // Each request's input is one of three per network; their solo results are the reference.
    std::vector<std::size_t> net_of;
    std::vector<std::uint64_t> input_seed;
    std::map<std::pair<std::size_t, std::uint64_t>, tensor<float>> solo;
    const auto input_of = [&](std::size_t n, std::uint64_t seed) {
        const shape in = nets[n].skeleton().input_shape();
        tensor<float> x(dims{1, in.c, in.h, in.w});
        fill_uniform(x.values(), seed, -1.0F, 1.0F);
        return x;
    };
    for (std::size_t i = 0; i < arrivals.size(); ++i) {
        const auto it = std::find(set.networks.begin(), set.networks.end(), arrivals[i].network);
        if (it == set.networks.end())
            throw error("masa arrivals: request " + std::to_string(i),
                        "names network '" + arrivals[i].network + "', not in set " + std::string(set.name));
        net_of.push_back(static_cast<std::size_t>(it - set.networks.begin()));
        input_seed.push_back(1000 + i % 3);
        const auto key = std::pair(net_of.back(), input_seed.back());
        if (!solo.contains(key))
            solo.emplace(key, masa::solo_run(nets[key.first], input_of(key.first, key.second)));
    }

    std::vector<row> rows;
    const std::size_t total_runs = budgets.size() * combos.size();
    std::size_t violations = 0;
    std::size_t total_requests = 0;
    for (const std::uint64_t budget : budgets)
        for (const auto& [mode, sched] : combos) {
            std::vector<masa::request> requests;
            for (std::size_t i = 0; i < arrivals.size(); ++i)
                requests.push_back({net_of[i], arrivals[i].time_s, input_of(net_of[i], input_seed[i])});
            for (const auto& n : nets) n.store().drop_cache();
            masa::runtime rt(pointers, {.run_mode = mode,
                                        .scheduler = sched,
                                        .budget_bytes = budget,
                                        .workers = o.workers,
                                        .reads = reads});
            const std::uint64_t baseline = masa::process_memory::rss();
            masa::process_memory::reset_peak_rss();
            const masa::run_report report = rt.run(std::move(requests));
            const std::uint64_t hwm = masa::process_memory::peak_rss();
            row r{.budget = budget,
                  .mode = std::string(to_string(mode)),
                  .scheduler = std::string(to_string(sched))};
            std::vector<double> times;
            for (std::size_t i = 0; i < report.results.size(); ++i) {
                const auto& res = report.results[i];
                if (res.refused) {
                    ++r.refused;
                } else if (!res.ok()) {
                    ++r.failed;
                } else {
                    ++r.completed;
                    times.push_back(res.response_s());
                    const tensor<float>& ref = solo.at({net_of[i], input_seed[i]});
                    if (!std::equal(ref.values().begin(), ref.values().end(), res.output.values().begin(),
                                    res.output.values().end()))
                        ++r.mismatched;
                }
            }
            std::sort(times.begin(), times.end());
            if (!times.empty()) {
                double sum = 0;
                for (double t : times) sum += t;
                r.mean_s = sum / static_cast<double>(times.size());
                r.p95_s = times[std::min(times.size() - 1,
                                         static_cast<std::size_t>(0.95 * static_cast<double>(times.size())))];
            }
            r.wall_s = report.wall_s;
            r.peak_held = report.peak_held_bytes;
            r.peak_reserved = report.peak_reserved_bytes;
            r.rss_over_baseline = hwm > baseline ? hwm - baseline : 0;
            r.bytes_read = report.bytes_read;
            r.accounted_violation = r.peak_reserved > budget;
            r.rss_violation =
                budget != masa::memory_budget::unlimited && r.rss_over_baseline > budget + rss_allowance;
            violations += (r.accounted_violation ? 1 : 0) + (r.rss_violation ? 1 : 0);
            total_requests += report.results.size();
            rows.push_back(r);
            std::printf(
                "[run %zu/%zu] budget %s, %s/%s: %zu done, %zu refused, %.3f s mean (%.1f s elapsed)\n",
                rows.size(), total_runs, masa::format_bytes(budget).c_str(), r.mode.c_str(),
                r.scheduler.c_str(), r.completed, r.refused, r.mean_s,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
            std::fflush(stdout);
        }

    std::printf("\n%-10s %-15s %-5s %5s %5s %5s %5s %9s %9s %10s %10s %10s %9s\n", "budget", "mode", "sched",
                "done", "refus", "fail", "diff", "mean s", "p95 s", "held MB", "resv MB", "RSS+ MB",
                "read MB");
    for (const auto& r : rows)
        std::printf("%-10s %-15s %-5s %5zu %5zu %5zu %5zu %9.3f %9.3f %10.1f %10.1f %10.1f %9.1f\n",
                    masa::format_bytes(r.budget).c_str(), r.mode.c_str(), r.scheduler.c_str(), r.completed,
                    r.refused, r.failed, r.mismatched, r.mean_s, r.p95_s, mb(r.peak_held),
                    mb(r.peak_reserved), mb(r.rss_over_baseline), mb(r.bytes_read));
    std::printf(
        "\n%zu requests over %zu runs; budget violations: %zu (accounted reservation peak > budget, or "
        "VmHWM over the pre-run RSS > budget + %.0f MB allowance)%s\n",
        total_requests, rows.size(), violations, mb(rss_allowance),
        o.bandwidth_mbps > 0 ? "; storage bandwidth EMULATED" : "");

    nlohmann::json j;
    j["set"] = o.set;
    j["arrival"] = o.arrival;
    j["workers"] = o.workers;
    j["bandwidth_mbps_emulated"] = o.bandwidth_mbps;
    j["requests"] = total_requests;
    j["violations"] = violations;
    j["rss_allowance_bytes"] = rss_allowance;
    for (const auto& n : nets)
        j["networks"].push_back({{"name", n.name()},
                                 {"segments", n.segments().size()},
                                 {"weight_bytes", n.store().total_bytes()},
                                 {"exec_s", n.exec_seconds()},
                                 {"job_s", n.job_seconds()}});
    for (const auto& r : rows)
        j["runs"].push_back(
            {{"budget_bytes", r.budget == masa::memory_budget::unlimited ? nlohmann::json(nullptr)
                                                                         : nlohmann::json(r.budget)},
             {"mode", r.mode},
             {"scheduler", r.scheduler},
             {"completed", r.completed},
             {"refused", r.refused},
             {"failed", r.failed},
             {"mismatched", r.mismatched},
             {"mean_response_s", r.mean_s},
             {"p95_response_s", r.p95_s},
             {"wall_s", r.wall_s},
             {"peak_held_bytes", r.peak_held},
             {"peak_reserved_bytes", r.peak_reserved},
             {"rss_over_baseline_bytes", r.rss_over_baseline},
             {"bytes_read", r.bytes_read}});
    write_file((out / "results.json").string(), j.dump(1) + "\n");
    std::printf("wrote %s\n", (out / "results.json").string().c_str());
    plot(out, rows, budgets);
    if (violations > 0) throw error("masa", std::to_string(violations) + " budget violations");
}

}  // namespace masa_detail

/// Adds the `masa` subcommand to `app`.
inline void register_masa_command(CLI::App& app) {
    auto opt = std::make_shared<masa_detail::options>();
    CLI::App* sub =
        app.add_subcommand("masa", "Many DNNs under a hard memory budget, layer by layer (Masa/EdgeCaffe)");
    sub->add_option("--set", opt->set, "Networks: small-3, mixed-3, large-3, all")->capture_default_str();
    sub->add_option("--budgets", opt->budgets, "Memory budgets in MB, comma-separated; 0 = unlimited")
        ->capture_default_str();
    sub->add_option("--modes", opt->modes, "Modes, comma-separated")->capture_default_str();
    sub->add_option("--schedulers", opt->schedulers, "Schedulers of the non-masa modes: fcfs, sjf")
        ->capture_default_str();
    sub->add_option("--arrival", opt->arrival, "batch | poisson | normal | file")->capture_default_str();
    sub->add_option("--repeats", opt->repeats, "batch: copies of the set")->capture_default_str();
    sub->add_option("--requests", opt->requests, "poisson/normal: number of requests")->capture_default_str();
    sub->add_option("--rate", opt->rate, "poisson: requests per second")->capture_default_str();
    sub->add_option("--normal-mean", opt->normal_mean, "normal: mean gap in seconds")->capture_default_str();
    sub->add_option("--normal-sigma", opt->normal_sigma, "normal: gap deviation in seconds")
        ->capture_default_str();
    sub->add_option("--arrivals-file", opt->arrivals_file, "file: JSON [{\"network\", \"time_s\"}, ...]");
    sub->add_option("--bandwidth-mbps", opt->bandwidth_mbps,
                    "Emulated storage read bandwidth in MB/s (0: the disk's)")
        ->capture_default_str();
    sub->add_option("--workers", opt->workers, "Worker threads (one oneDNN thread each)")
        ->capture_default_str();
    sub->add_option("--seed", opt->seed, "Seed of weights, inputs and arrivals")->capture_default_str();
    sub->add_option("--out", opt->out, "Output folder (results.json, masa.png)")->capture_default_str();
    sub->add_option("--weights", opt->weights,
                    "Folder for the layer-granular weight files (default <out>/weights)");
    sub->add_flag("--quick", opt->quick, "small-3, budgets 16 MB / 32 MB / unlimited, fcfs: under a minute");
    sub->footer(
        R"(Each request is checked bit for bit against a solo run of its network. Reads are cold
(posix_fadvise DONTNEED after each segment). Exits 1 if any run's accounted reservation or measured
peak RSS over its starting RSS crosses the budget (plus a fixed 16 MB allowance for thread stacks,
allocator arenas and JIT code). See docs/masa.md.)");
    sub->callback([opt] { masa_detail::run(*opt); });
}

}  // namespace stemshare::tools
