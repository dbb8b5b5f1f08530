// libFuzzer harness: the `stemshare plan` pipeline on an arbitrary apps JSON document: the apps
// file, the cost model, the problem in each mode, and the planners (exact only for up to 3 apps,
// its cost is exponential in the apps by design). The budget is the document's top-level
// "budget" number when it has one, else 100.
#include "fuzz_support.hpp"

#include <string_view>

#include <stemshare/io/apps_file.hpp>
#include <stemshare/io/json_file.hpp>
#include <stemshare/sched.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace stemshare;
    fuzz::expect_loads_or_named_error([&] {
        const nlohmann::json doc =
            io::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "<fuzz>");
        const io::apps_file file = io::parse_apps_file(doc, "<fuzz>");
        const double budget =
            doc.contains("budget") && doc["budget"].is_number() ? doc["budget"].get<double>() : 100.0;
        const sched::cost_model costs(file.layer_latencies);
        for (sched::mode m : {sched::mode::mainstream, sched::mode::nosharing, sched::mode::maxsharing}) {
            fuzz::expect_loads_or_named_error([&] {
                const sched::problem p(file.apps, costs, file.stream_fps, m);
                sched::require_feasible_budget(p, budget);
                for (sched::planner_kind k : {sched::planner_kind::mainstream_greedy, sched::planner_kind::greedy,
                                              sched::planner_kind::exact}) {
                    if (k == sched::planner_kind::exact && p.num_apps() > 3) continue;
                    fuzz::expect_loads_or_named_error([&] { (void)sched::run_planner(k, p, budget); });
                }
            });
        }
    });
    return 0;
}
