#pragma once
// `stemshare masa`: many DNNs under a hard memory budget, layer by layer (docs/masa.md). Sweeps
// budgets x modes x schedulers over one arrival trace; prints a table, writes results.json, and
// plots response time and peak memory against the budget (gnuplot, as the demo does).

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
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
#include <stemshare/profiling/latency_table.hpp>
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
    /// The stem-aware section: a set of apps sharing a stem, its budgets, modes and batch copies.
    std::string stem_set = "stem-resnet50";
    std::string stem_budgets = "96,160,0";
    std::string stem_modes = "linear,masa,masa-stem";
    int stem_repeats = 2;
    /// "network=path,...": latency tables (`stemshare profile` JSON) SJF and Masa order by.
    std::string latency_tables;
    /// Runs each budgeted run in a child process under RLIMIT_DATA = its data segment + budget +
    /// `rlimit_allowance`: the OS limit must never be hit.
    bool rlimit_child = false;
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
    std::string set;
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
    std::size_t resident_hits = 0;
    std::size_t evictions = 0;
    /// Seconds a LOAD and an EXEC ran at once, and the sum of all LOAD and all EXEC durations.
    double overlap_s = 0;
    double load_s = 0;
    double exec_s = 0;
    bool accounted_violation = false;
    bool rss_violation = false;
    /// --rlimit-child: the run was in a child under RLIMIT_DATA, and whether the child hit it
    /// (died, or a request failed where the accounting allowed it).
    bool in_child = false;
    bool rlimit_violation = false;
};

inline nlohmann::json to_json(const row& r) {
    return {{"completed", r.completed},
            {"refused", r.refused},
            {"failed", r.failed},
            {"mismatched", r.mismatched},
            {"mean_s", r.mean_s},
            {"p95_s", r.p95_s},
            {"wall_s", r.wall_s},
            {"peak_held", r.peak_held},
            {"peak_reserved", r.peak_reserved},
            {"rss_over_baseline", r.rss_over_baseline},
            {"bytes_read", r.bytes_read},
            {"resident_hits", r.resident_hits},
            {"evictions", r.evictions},
            {"overlap_s", r.overlap_s},
            {"load_s", r.load_s},
            {"exec_s", r.exec_s}};
}
inline void from_json(const nlohmann::json& j, row& r) {
    r.completed = j.at("completed");
    r.refused = j.at("refused");
    r.failed = j.at("failed");
    r.mismatched = j.at("mismatched");
    r.mean_s = j.at("mean_s");
    r.p95_s = j.at("p95_s");
    r.wall_s = j.at("wall_s");
    r.peak_held = j.at("peak_held");
    r.peak_reserved = j.at("peak_reserved");
    r.rss_over_baseline = j.at("rss_over_baseline");
    r.bytes_read = j.at("bytes_read");
    r.resident_hits = j.at("resident_hits");
    r.evictions = j.at("evictions");
    r.overlap_s = j.at("overlap_s");
    r.load_s = j.at("load_s");
    r.exec_s = j.at("exec_s");
}

/// Memory a run allocates that no budget models (worker stacks and allocator arenas, JIT code of
/// primitives first compiled in the run): allowed on top of the budget when checking the measured
/// peak RSS, and reported with it.
constexpr std::uint64_t rss_allowance = 16ULL << 20;
/// --rlimit-child: what the data segment may grow by beyond the budget (thread stacks, JIT code,
/// oneDNN's primitive cache, stdio), as in tests/masa/test_masa_memory.cpp.
constexpr std::uint64_t rlimit_allowance = 48ULL << 20;

/// Runs `measure` in a child under RLIMIT_DATA = the data segment now + `budget` +
/// `rlimit_allowance`; returns its row, marked as run in a child and whether the limit was hit.
template <typename Measure>
row in_limited_child(std::uint64_t budget, const Measure& measure) {
    int fds[2];
    if (::pipe(fds) != 0) throw error("masa: --rlimit-child", "pipe failed");
    std::fflush(stdout);
    const pid_t pid = ::fork();
    if (pid < 0) throw error("masa: --rlimit-child", "fork failed");
    if (pid == 0) {
        ::close(fds[0]);
        const rlimit lim{masa::process_memory::data() + budget + rlimit_allowance, RLIM_INFINITY};
        int code = 0;
        std::string text;
        if (::setrlimit(RLIMIT_DATA, &lim) != 0) {
            code = 2;
        } else {
            try {
                text = to_json(measure()).dump();
            } catch (...) {
                code = 3;
            }
        }
        for (std::size_t off = 0; off < text.size();) {
            const auto n = ::write(fds[1], text.data() + off, text.size() - off);
            if (n <= 0) break;
            off += static_cast<std::size_t>(n);
        }
        ::close(fds[1]);
        std::fflush(stdout);
        ::_exit(code);
    }
    ::close(fds[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    row r;
    const bool exited = WIFEXITED(status) && WEXITSTATUS(status) == 0 && !text.empty();
    if (exited) from_json(nlohmann::json::parse(text), r);
    r.in_child = true;
    r.rlimit_violation = !exited || r.failed > 0;
    return r;
}

inline double mb(std::uint64_t bytes) {
    return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

inline void plot(const std::filesystem::path& out, const std::string& stem, const std::vector<row>& rows,
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
    write_file((out / (stem + ".dat")).string(), dat.str());
    std::ostringstream tics;
    for (std::size_t i = 0; i < budgets.size(); ++i)
        tics << (i ? ", " : "") << "'" << masa::format_bytes(budgets[i]) << "' " << i;
    std::ostringstream gp;
    gp << "set terminal pngcairo size 1500,500\nset output '" << (out / (stem + ".png")).string() << "'\n"
       << "set datafile missing '?'\nset multiplot layout 1,3\nset xtics (" << tics.str()
       << ")\nset key top right font ',8'\n"
       << "set xlabel 'memory budget'\nset xrange [-0.3:" << static_cast<double>(budgets.size()) - 0.7
       << "]\n";
    const auto lines = [&](int column, const char* style) {
        std::ostringstream s;
        std::size_t i = 0;
        for (const auto& entry : series) {
            s << (i ? ", " : "") << "'" << (out / (stem + ".dat")).string() << "' index " << i
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
    write_file((out / (stem + "-budget.dat")).string(), budget_line.str() + "\n");
    gp << "set title 'peak memory (accounted)'\nset ylabel 'MB'\nplot " << lines(4, "linespoints") << ", '"
       << (out / (stem + "-budget.dat")).string()
       << "' using 1:2 with points pt 5 ps 2 lc rgb 'black' title 'budget'\n"
       << "unset multiplot\n";
    write_file((out / (stem + ".gp")).string(), gp.str());
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        std::printf(
            "gnuplot is not installed (Debian: apt-get install gnuplot-nox): no PNG; the data is in %s\n",
            (out / (stem + ".dat")).string().c_str());
        return;
    }
    const std::string cmd = "gnuplot '" + (out / (stem + ".gp")).string() + "'";
    if (std::system(cmd.c_str()) != 0)
        std::printf("gnuplot failed on %s: no PNG\n", (out / (stem + ".gp")).string().c_str());
    else
        std::printf("wrote %s\n", (out / (stem + ".png")).string().c_str());
}

inline std::vector<std::uint64_t> parse_budgets(const std::string& text, const char* option) {
    std::vector<std::uint64_t> budgets;
    for (const auto& b : split(text)) {
        const double v = std::stod(b);
        if (v < 0) throw error(std::string("masa: ") + option, "a budget must not be negative, got " + b);
        budgets.push_back(v == 0 ? masa::memory_budget::unlimited
                                 : static_cast<std::uint64_t>(v * 1024 * 1024));
    }
    return budgets;
}

inline std::vector<std::pair<masa::mode, masa::scheduler_kind>> parse_combos(const std::string& modes,
                                                                             const std::string& schedulers) {
    std::vector<std::pair<masa::mode, masa::scheduler_kind>> combos;
    for (const auto& m : split(modes)) {
        const masa::mode mode = masa::parse_mode(m);
        if (masa::masa_scheduled(mode))
            combos.emplace_back(mode, masa::scheduler_kind::masa);
        else
            for (const auto& sch : split(schedulers)) combos.emplace_back(mode, masa::parse_scheduler(sch));
    }
    return combos;
}

/// The bound graph of network `i` of `set`: a zoo model, or for a stem set an app of its model
/// whose weights are the base's (seed `seed`) but in its last `own_segments` segments.
inline graph set_graph(const masa::network_set& set, std::size_t i, std::uint64_t seed) {
    if (set.stem_model.empty()) {
        graph g = zoo::make_graph(set.networks[i]);
        g.bind_random(seed + i);
        return g;
    }
    graph base = zoo::make_graph(set.stem_model);
    base.bind_random(seed);
    const auto points = base.branch_points();
    const std::size_t cut = points[points.size() - 1 - set.own_segments];
    graph app = zoo::make_graph(set.stem_model);
    app.bind_random(seed + 1 + i);
    for (std::size_t l = 0; l < cut; ++l) app.bind(l, base.at(l).params);
    return app;
}

/// Runs every budget x mode x scheduler of `combos` on `set` with `arrivals`; adds its rows.
inline void sweep(const masa::network_set& set, const std::vector<masa::arrival>& arrivals,
                  const std::vector<std::uint64_t>& budgets,
                  const std::vector<std::pair<masa::mode, masa::scheduler_kind>>& combos, const options& o,
                  const std::filesystem::path& weights, const masa::read_options& reads,
                  std::chrono::steady_clock::time_point t_start, std::vector<row>& rows,
                  std::vector<masa::network>& nets) {
    for (std::size_t i = 0; i < set.networks.size(); ++i) {
        const std::string& name = set.networks[i];
        std::printf("[prepare %zu/%zu] %s: writing weights and profiling each segment...\n", i + 1,
                    set.networks.size(), name.c_str());
        std::fflush(stdout);
        const graph g = set_graph(set, i, o.seed);
        nets.push_back(masa::network::prepare(name, g, weights / (name + ".safetensors"), reads));
        for (const auto& entry : split(o.latency_tables)) {
            const auto eq = entry.find('=');
            if (eq == std::string::npos)
                throw error("masa: --latency-tables", "expected network=path, got '" + entry + "'");
            if (entry.substr(0, eq) == name) {
                const std::string path = entry.substr(eq + 1);
                nets.back().use_layer_latencies(profiling::read_layer_latencies(path), path);
            }
        }
        const auto& n = nets.back();
        std::printf(
            "  %zu segments, %.1f MB of weights, exec %.1f ms, cold load %.1f ms%s, linear need %.1f MB\n",
            n.segments().size(), mb(n.store().total_bytes()), n.exec_seconds() * 1e3,
            (n.job_seconds() - n.exec_seconds()) * 1e3, o.bandwidth_mbps > 0 ? " (bandwidth emulated)" : "",
            mb(masa::requirement_of(n, masa::mode::linear).bytes));
        std::printf("  SJF and Masa order it by the execution times of its %s\n", n.exec_source().c_str());
    }
    std::vector<const masa::network*> pointers;
    for (const auto& n : nets) pointers.push_back(&n);

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

    const std::size_t total_runs = budgets.size() * combos.size();
    std::size_t done = 0;
    for (const std::uint64_t budget : budgets)
        for (const auto& [mode, sched] : combos) {
            const auto measure = [&, mode = mode, sched = sched, budget = budget] {
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
                row r;
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
                    r.p95_s =
                        times[std::min(times.size() - 1,
                                       static_cast<std::size_t>(0.95 * static_cast<double>(times.size())))];
                }
                r.wall_s = report.wall_s;
                r.peak_held = report.peak_held_bytes;
                r.peak_reserved = report.peak_reserved_bytes;
                r.rss_over_baseline = hwm > baseline ? hwm - baseline : 0;
                r.bytes_read = report.bytes_read;
                r.resident_hits = report.resident_hits;
                r.evictions = report.evictions;
                r.overlap_s = masa::load_exec_overlap_s(report.trace);
                for (const auto& t : report.trace) {
                    if (t.kind == masa::task_kind::load) r.load_s += t.end_s - t.start_s;
                    if (t.kind == masa::task_kind::exec) r.exec_s += t.end_s - t.start_s;
                }
                return r;
            };
            row r = o.rlimit_child && budget != masa::memory_budget::unlimited
                        ? in_limited_child(budget, measure)
                        : measure();
            r.set = std::string(set.name);
            r.budget = budget;
            r.mode = std::string(to_string(mode));
            r.scheduler = std::string(to_string(sched));
            r.accounted_violation = r.peak_reserved > budget;
            r.rss_violation =
                budget != masa::memory_budget::unlimited && r.rss_over_baseline > budget + rss_allowance;
            rows.push_back(r);
            std::printf(
                "[%s run %zu/%zu] budget %s, %s/%s: %zu done, %zu refused, %.3f s mean (%.1f s elapsed)\n",
                std::string(set.name).c_str(), ++done, total_runs, masa::format_bytes(budget).c_str(),
                r.mode.c_str(), r.scheduler.c_str(), r.completed, r.refused, r.mean_s,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
            std::fflush(stdout);
        }
}

inline std::vector<masa::arrival> make_arrivals(const options& o, const masa::network_set& set, int repeats) {
    if (o.arrival == "batch") return masa::batch_arrivals(set.networks, repeats);
    if (o.arrival == "poisson") return masa::poisson_arrivals(set.networks, o.requests, o.rate, o.seed);
    if (o.arrival == "normal")
        return masa::normal_arrivals(set.networks, o.requests, o.normal_mean, o.normal_sigma, o.seed);
    if (o.arrival == "file") return masa::read_arrivals(o.arrivals_file);
    throw error("masa: --arrival", "must be batch, poisson, normal or file, got '" + o.arrival + "'");
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
        o.stem_set = "stem-mobilenet_v2";
        o.stem_budgets = "16,0";
        o.stem_modes = "masa,masa-stem";
    }
    if (o.workers < 2) throw error("masa: --workers", "must be at least 2 (deepeye needs two)");
    if (o.repeats < 1 || o.requests < 1 || o.stem_repeats < 1)
        throw error("masa: --repeats/--requests/--stem-repeats", "must be at least 1");
    const masa::network_set set = masa::find_network_set(o.set);
    const std::vector<std::uint64_t> budgets = parse_budgets(o.budgets, "--budgets");
    const auto combos = parse_combos(o.modes, o.schedulers);
    const bool stem_section = o.stem_set != "none" && o.arrival != "file";
    const std::filesystem::path out(o.out);
    const std::filesystem::path weights =
        o.weights.empty() ? out / "weights" : std::filesystem::path(o.weights);
    std::filesystem::create_directories(weights);
    const masa::read_options reads{.cold = true, .bandwidth_bytes_per_s = o.bandwidth_mbps * 1024 * 1024};

    std::vector<row> rows;
    std::vector<masa::network> nets;
    sweep(set, make_arrivals(o, set, o.repeats), budgets, combos, o, weights, reads, t_start, rows, nets);
    const std::size_t main_rows = rows.size();
    std::vector<masa::network> stem_nets;
    std::vector<std::uint64_t> stem_budgets;
    if (stem_section) {
        const masa::network_set stem_set = masa::find_network_set(o.stem_set);
        if (stem_set.stem_model.empty())
            throw error("masa: --stem-set", "'" + o.stem_set + "' is not a stem set (stem-resnet50, ...)");
        stem_budgets = parse_budgets(o.stem_budgets, "--stem-budgets");
        std::printf("\nstem-aware section: %s, apps of %s sharing all but their last %zu segments\n",
                    o.stem_set.c_str(), stem_set.stem_model.c_str(), stem_set.own_segments);
        sweep(stem_set, make_arrivals(o, stem_set, o.stem_repeats), stem_budgets,
              parse_combos(o.stem_modes, "fcfs"), o, weights, reads, t_start, rows, stem_nets);
    }

    std::size_t violations = 0;
    std::size_t total_requests = 0;
    std::size_t children = 0;
    for (const auto& r : rows) {
        violations +=
            (r.accounted_violation ? 1 : 0) + (r.rss_violation ? 1 : 0) + (r.rlimit_violation ? 1 : 0);
        children += r.in_child ? 1 : 0;
        total_requests += r.completed + r.refused + r.failed;
    }
    std::printf("\n%-17s %-10s %-15s %-5s %5s %5s %5s %5s %8s %8s %8s %8s %8s %9s %9s %9s %8s %5s %5s\n",
                "set", "budget", "mode", "sched", "done", "refus", "fail", "diff", "mean s", "p95 s",
                "wall s", "load s", "overlap", "held MB", "resv MB", "RSS+ MB", "read MB", "hits", "evict");
    for (const auto& r : rows)
        std::printf(
            "%-17s %-10s %-15s %-5s %5zu %5zu %5zu %5zu %8.3f %8.3f %8.2f %8.2f %8.2f %9.1f %9.1f %9.1f "
            "%8.1f %5zu "
            "%5zu\n",
            r.set.c_str(), masa::format_bytes(r.budget).c_str(), r.mode.c_str(), r.scheduler.c_str(),
            r.completed, r.refused, r.failed, r.mismatched, r.mean_s, r.p95_s, r.wall_s, r.load_s,
            r.overlap_s, mb(r.peak_held), mb(r.peak_reserved), mb(r.rss_over_baseline), mb(r.bytes_read),
            r.resident_hits, r.evictions);
    std::size_t mismatched = 0;
    for (const auto& r : rows) mismatched += r.mismatched;
    std::printf(
        "\n%zu requests over %zu runs; budget violations: %zu (accounted reservation peak > budget, or "
        "VmHWM over the pre-run RSS > budget + %.0f MB allowance, or a child under RLIMIT_DATA = data + "
        "budget + "
        "%.0f MB that failed: %zu runs in children); results differing from solo runs: %zu%s\n",
        total_requests, rows.size(), violations, mb(rss_allowance), mb(rlimit_allowance), children,
        mismatched, o.bandwidth_mbps > 0 ? "; storage bandwidth EMULATED" : "");

    nlohmann::json j;
    j["set"] = o.set;
    j["stem_set"] = stem_section ? nlohmann::json(o.stem_set) : nlohmann::json(nullptr);
    j["arrival"] = o.arrival;
    j["workers"] = o.workers;
    j["bandwidth_mbps_emulated"] = o.bandwidth_mbps;
    j["requests"] = total_requests;
    j["violations"] = violations;
    j["mismatched"] = mismatched;
    j["rss_allowance_bytes"] = rss_allowance;
    j["rlimit_child_runs"] = children;
    j["rlimit_allowance_bytes"] = rlimit_allowance;
    for (const auto* list : {&nets, &stem_nets})
        for (const auto& n : *list)
            j["networks"].push_back({{"name", n.name()},
                                     {"segments", n.segments().size()},
                                     {"weight_bytes", n.store().total_bytes()},
                                     {"exec_s", n.exec_seconds()},
                                     {"exec_time_source", n.exec_source()},
                                     {"job_s", n.job_seconds()}});
    for (const auto& r : rows)
        j["runs"].push_back(
            {{"set", r.set},
             {"budget_bytes", r.budget == masa::memory_budget::unlimited ? nlohmann::json(nullptr)
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
             {"bytes_read", r.bytes_read},
             {"resident_hits", r.resident_hits},
             {"evictions", r.evictions},
             {"load_s", r.load_s},
             {"exec_s", r.exec_s},
             {"load_exec_overlap_s", r.overlap_s},
             {"in_rlimit_child", r.in_child},
             {"rlimit_violation", r.rlimit_violation}});
    write_file((out / "results.json").string(), j.dump(1) + "\n");
    std::printf("wrote %s\n", (out / "results.json").string().c_str());
    plot(out, "masa", std::vector<row>(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(main_rows)),
         budgets);
    if (stem_section)
        plot(out, "masa-stem",
             std::vector<row>(rows.begin() + static_cast<std::ptrdiff_t>(main_rows), rows.end()),
             stem_budgets);
    if (violations > 0) throw error("masa", std::to_string(violations) + " budget violations");
    if (mismatched > 0) throw error("masa", std::to_string(mismatched) + " results differ from solo runs");
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
    sub->add_option("--latency-tables", opt->latency_tables,
                    "network=path,...: latency tables (stemshare profile JSON) that SJF and Masa order by "
                    "instead of the segment profile")
        ->capture_default_str();
    sub->add_flag("--rlimit-child", opt->rlimit_child,
                  "Run each budgeted run in a child process under RLIMIT_DATA = data + budget + 48 MB; "
                  "a child that hits it counts as a violation");
    sub->add_option("--stem-set", opt->stem_set,
                    "Stem-aware section: a stem set (stem-resnet50, stem-mobilenet_v2) or none")
        ->capture_default_str();
    sub->add_option("--stem-budgets", opt->stem_budgets, "Stem-aware section: budgets in MB; 0 = unlimited")
        ->capture_default_str();
    sub->add_option("--stem-modes", opt->stem_modes, "Stem-aware section: modes (fcfs for the non-masa ones)")
        ->capture_default_str();
    sub->add_option("--stem-repeats", opt->stem_repeats, "Stem-aware section, batch: copies of the set")
        ->capture_default_str();
    sub->add_flag("--quick", opt->quick,
                  "small-3, budgets 16 MB / 32 MB / unlimited, fcfs; stem-mobilenet_v2 at 16 MB / unlimited: "
                  "under a minute");
    sub->footer(
        R"(Each request is checked bit for bit against a solo run of its network. Reads are cold
(posix_fadvise DONTNEED after each segment). Exits 1 if any run's accounted reservation or measured
peak RSS over its starting RSS crosses the budget (plus a fixed 16 MB allowance for thread stacks,
allocator arenas and JIT code). See docs/masa.md.)");
    sub->callback([opt] { masa_detail::run(*opt); });
}

}  // namespace stemshare::tools
