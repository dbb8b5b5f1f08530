#pragma once
// `stemshare plan`: plan an app mix with the Mainstream model (see docs/scheduler.md).

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/io/apps_file.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/sched.hpp>

namespace stemshare::tools {

namespace plan_detail {

struct options {
    std::string apps_path;
    std::string latencies_path;
    std::string select;
    double budget = 0.0;
    double fps = 0.0;
    bool fps_given = false;
    std::string planner = "exact";
    std::string mode = "mainstream";
    std::string objective = "mean";
    std::string quality_model = "mainstream";
    bool json = false;
};

inline std::string number(double x) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return buf;
}

inline std::string to_json(const sched::plan& pl, const sched::problem& p, sched::planner_kind kind) {
    std::ostringstream o;
    o << "{\"planner\":" << nlohmann::json(std::string(sched::to_string(kind))).dump()
      << ",\"mode\":" << nlohmann::json(std::string(sched::to_string(p.planning_mode()))).dump()
      << ",\"quality_model\":" << nlohmann::json(std::string(sched::to_string(p.model()))).dump()
      << ",\"budget\":" << number(pl.budget) << ",\"stream_fps\":" << number(p.stream_fps())
      << ",\"cost\":" << number(pl.cost) << ",\"mean_f1\":" << number(pl.mean_f1())
      << ",\"min_f1\":" << number(pl.min_f1) << ",\"apps\":[";
    for (std::size_t i = 0; i < pl.apps.size(); ++i) {
        const sched::app_choice& a = pl.apps[i];
        o << (i == 0 ? "" : ",") << "{\"name\":" << nlohmann::json(p.app(i).name).dump()
          << ",\"num_frozen\":" << a.num_frozen << ",\"fps\":" << number(a.fps)
          << ",\"f1\":" << number(a.quality.f1) << ",\"recall\":" << number(a.quality.recall)
          << ",\"precision\":" << number(a.quality.precision) << ",\"suffix_cost\":" << number(a.suffix_cost)
          << "}";
    }
    o << "]}";
    return o.str();
}

inline void print_table(std::ostream& out, const std::string& title, const sched::plan& pl,
                        const sched::problem& p) {
    char line[256];
    out << title << "\n";
    std::snprintf(line, sizeof line, "  %-14s %10s %7s %8s %8s %9s %11s\n", "app", "num_frozen", "fps", "f1",
                  "recall", "precision", "suffix_cost");
    out << line;
    for (std::size_t i = 0; i < pl.apps.size(); ++i) {
        const sched::app_choice& a = pl.apps[i];
        std::snprintf(line, sizeof line, "  %-14s %10d %7.3g %8.4f %8.4f %9.4f %11.4f\n",
                      p.app(i).name.c_str(), a.num_frozen, a.fps, a.quality.f1, a.quality.recall,
                      a.quality.precision, a.suffix_cost);
        out << line;
    }
    std::snprintf(line, sizeof line, "  cost %.4f of budget %.4f, mean F1 %.4f, min F1 %.4f\n\n", pl.cost,
                  pl.budget, pl.mean_f1(), pl.min_f1);
    out << line;
}

inline void run(const options& opt) {
    const sched::planner_kind kind = sched::parse_planner(opt.planner);
    const sched::mode md = sched::parse_mode(opt.mode);
    const sched::objective obj = sched::parse_objective(opt.objective);
    const sched::quality_model model = sched::parse_quality_model(opt.quality_model, "--quality-model");
    io::apps_file file = io::load_apps_file(opt.apps_path);
    if (!opt.latencies_path.empty())
        file.layer_latencies = profiling::read_layer_latencies(opt.latencies_path);
    std::vector<sched::app_spec> apps =
        opt.select.empty() ? file.apps : io::select_apps(file.apps, opt.select);
    if (opt.fps_given && !(opt.fps > 0.0))
        throw error("--fps", "must be a positive frame rate, got " + std::to_string(opt.fps));
    const double stream_fps = opt.fps_given ? opt.fps : file.stream_fps;
    const sched::cost_model costs(file.layer_latencies);
    const sched::problem p(apps, costs, stream_fps, md, model);
    // The original greedy would return its unaffordable start; a script wants an error instead.
    sched::require_feasible_budget(p, opt.budget);
    const sched::plan pl = sched::run_planner(kind, p, opt.budget, obj);
    if (opt.json) {
        std::cout << to_json(pl, p, kind) << "\n";
        return;
    }
    const std::string what =
        std::string(sched::to_string(kind)) + ", objective " + std::string(sched::to_string(obj)) +
        ", quality model " + std::string(sched::to_string(model));
    print_table(std::cout, std::string(sched::to_string(md)) + " (" + what + "):", pl, p);
    for (sched::mode baseline : {sched::mode::nosharing, sched::mode::maxsharing}) {
        if (baseline == md) continue;
        const sched::problem b(apps, costs, stream_fps, baseline, model);
        try {
            sched::require_feasible_budget(b, opt.budget);
            print_table(std::cout, std::string(sched::to_string(baseline)) + " baseline (" + what + "):",
                        sched::run_planner(kind, b, opt.budget, obj), b);
        } catch (const error& e) {
            std::cout << sched::to_string(baseline) << " baseline: " << e.what() << "\n\n";
        }
    }
}

inline constexpr const char* help_footer = R"(
Model: Mainstream's event-F1 and cost model (docs/scheduler.md). Output fields:
  planner      the planner that chose the plan
  mode         candidate set: mainstream (every branch point, fps 1..F), nosharing (k = 0,
               fps 0.1..0.9 and 1..F), maxsharing (k = last branch point, fps 1..F)
  quality_model  the app-quality model (--quality-model): mainstream (the original model, bit for
               bit, L f^2 / (1000 F) samples per event) or sampled (the L f / 1000 samples an
               app at f fps really takes)
  budget       the cost budget (unit of the latency table; shipped table: whole model = 20.8138)
  stream_fps   F, the stream frame rate (the file's, or --fps)
  cost         plan cost: per layer, latency x (sum of fps of apps running their own copy + max fps
               of apps sharing it); <= budget
  mean_f1      mean predicted event F1 over apps
  min_f1       smallest predicted event F1
  apps[]       per app, in input order:
    name         app name
    num_frozen   branch point k: layers 0..k-1 come from the shared stem
    fps          frames per second the app analyses
    f1           predicted event F1 = 2 / (1/recall + 1/precision)
    recall       probability that an event is detected
    precision    probability that a detection is a real event
    suffix_cost  cost of the app's own layers k..end at its fps
Numbers are printed with 17 significant digits. Without --json, the plan is shown as a table
next to the No-sharing and Max-sharing baselines (each app's fps optimised by the same planner).
Errors (unknown app, curve without k = 0, budget below every plan, ...) exit 1 with one line.)";

}  // namespace plan_detail

/// Adds the `plan` subcommand to `app`.
inline void register_plan_command(CLI::App& app) {
    auto opt = std::make_shared<plan_detail::options>();
    CLI::App* sub =
        app.add_subcommand("plan", "Choose per-app branch points and frame rates within a budget");
    sub->add_option("--apps", opt->apps_path,
                    "App file (layout of mainstream-apps.json: stream_fps, model.layer_latencies, apps[])")
        ->required();
    sub->add_option(
        "--latencies", opt->latencies_path,
        "Optional latency table replacing the file's: a JSON array, or an object with layer_latencies "
        "(what `stemshare profile --out` writes)");
    sub->add_option("--select", opt->select, "Comma-separated app names to plan, in this order (may repeat)");
    sub->add_option("--budget", opt->budget, "Cost budget (same unit as the latency table)")->required();
    sub->add_option("--fps", opt->fps, "Stream frame rate, overriding the file's stream_fps");
    sub->add_option("--planner", opt->planner, "mainstream_greedy | greedy | exact")->capture_default_str();
    sub->add_option("--mode", opt->mode, "mainstream | nosharing | maxsharing")->capture_default_str();
    sub->add_option("--objective", opt->objective, "mean | min | weighted (uses each app's optional weight)")
        ->capture_default_str();
    sub->add_option("--quality-model", opt->quality_model,
                    "mainstream (the original Mainstream model, the default) | sampled (L f / 1000 samples per event)")
        ->capture_default_str();
    sub->add_flag("--json", opt->json, "Print exactly one JSON object (fields below)");
    sub->footer(plan_detail::help_footer);
    sub->callback([opt, sub] {
        opt->fps_given = sub->count("--fps") > 0;
        plan_detail::run(*opt);
    });
}

}  // namespace stemshare::tools
