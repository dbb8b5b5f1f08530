#pragma once
/// \file
/// The Mainstream scheduler area: app-quality and cost models, the plan type and the planners.
/// Pure C++20, constexpr throughout. The JSON app-file loader is separate:
/// <stemshare/io/apps_file.hpp> (needs nlohmann_json).

#include <stemshare/sched/app.hpp>
#include <stemshare/sched/app_quality.hpp>
#include <stemshare/sched/constexpr_math.hpp>
#include <stemshare/sched/cost_model.hpp>
#include <stemshare/sched/curve.hpp>
#include <stemshare/sched/exact.hpp>
#include <stemshare/sched/greedy.hpp>
#include <stemshare/sched/mainstream_greedy.hpp>
#include <stemshare/sched/pareto_options.hpp>
#include <stemshare/sched/plan.hpp>
#include <stemshare/sched/planner.hpp>
#include <stemshare/sched/problem.hpp>
#include <stemshare/sched/quality_model.hpp>
#include <stemshare/sched/stem_envelope.hpp>
