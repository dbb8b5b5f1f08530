// The cost model: hand-computed plan costs, the pedestrian costs of docs/scheduler.md, and the incremental
// evaluator the greedy planners use, checked against the plain per-layer definition.
#include <doctest/doctest.h>

#include <cstddef>
#include <random>
#include <vector>

#include <stemshare/sched.hpp>

#include "sched_test_data.hpp"

using namespace stemshare::sched;
using doctest::Approx;

namespace {

// The definition in docs/scheduler.md, layer by layer, written independently of cost_model.
double per_layer_cost(const std::vector<double>& lat, const std::vector<cost_entry>& plan) {
    double cost = 0.0;
    for (std::size_t l = 0; l < lat.size(); ++l) {
        double own = 0.0, shared = 0.0;
        for (const cost_entry& e : plan) {
            if (static_cast<std::size_t>(e.num_frozen) <= l)
                own += e.fps;
            else
                shared = std::max(shared, e.fps);
        }
        cost += lat[l] * (own + shared);
    }
    return cost;
}

}  // namespace

TEST_CASE("cost: three apps with two branch points, by hand") {
    // Latencies [1, 2, 3, 4, 5]; A at k = 1, 2 fps; B at k = 3, 3 fps; C at k = 3, 1 fps.
    // layer 0 (1): nobody branched, A B C share it at max(2, 3, 1) = 3          -> 3
    // layer 1 (2): A runs its own copy (2), B and C share at max(3, 1) = 3     -> 2 * 5 = 10
    // layer 2 (3): same                                                       -> 3 * 5 = 15
    // layer 3 (4): all branched; B and C at the same k share nothing: 2+3+1 -> 4 * 6 = 24
    // layer 4 (5): same                                                       -> 5 * 6 = 30
    // total 82.
    const cost_model m({1, 2, 3, 4, 5});
    const std::vector<cost_entry> plan{{1, 2.0}, {3, 3.0}, {3, 1.0}};
    CHECK(m.plan_cost(plan) == Approx(82.0).epsilon(1e-15));
    CHECK(per_layer_cost(m.latencies(), plan) == Approx(82.0).epsilon(1e-15));
    static_assert(cost_model({1, 2, 3, 4, 5}).plan_cost({{1, 2.0}, {3, 3.0}, {3, 1.0}}) == 82.0);
}

TEST_CASE("cost: the pedestrian example of docs/scheduler.md at k = 75, f = 4") {
    const cost_model m(sched_test::shipped().layer_latencies);
    CHECK(m.suffix_latency(75) == Approx(0.5416).epsilon(1e-12));
    CHECK(m.suffix_cost(75, 4.0) == Approx(2.1664).epsilon(1e-12));
    CHECK(m.prefix_latency(75) == Approx(20.2722).epsilon(1e-12));
    CHECK(m.prefix_latency(85) == Approx(20.8138).epsilon(1e-12));
    CHECK(m.plan_cost({{75, 4.0}}) == Approx(83.2552).epsilon(1e-12));
}

TEST_CASE("cost: an app alone at k = 0 pays the whole model, apps at k = 0 share nothing") {
    const cost_model m({1.5, 2.5});
    CHECK(m.plan_cost({{0, 2.0}}) == Approx(8.0));
    CHECK(m.plan_cost({{0, 2.0}, {0, 3.0}}) == Approx(20.0));
    // Both at k = 1: layer 0 shared at max(2, 3), layer 1 own: 1.5*3 + 2.5*5 = 17.
    CHECK(m.plan_cost({{1, 2.0}, {1, 3.0}}) == Approx(17.0));
}

TEST_CASE("cost: plan_cost and the incremental envelope agree with the per-layer definition") {
    const problem p = sched_test::shipped_problem({0, 1, 2, 3, 4});
    std::mt19937 rng(7);
    stem_envelope env(p);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<const option*> current;
        std::vector<cost_entry> entries;
        for (std::size_t i = 0; i < p.num_apps(); ++i) {
            std::uniform_int_distribution<std::size_t> pick(0, p.options(i).size() - 1);
            current.push_back(&p.options(i)[pick(rng)]);
            entries.push_back({current.back()->num_frozen, current.back()->fps});
        }
        const double truth = per_layer_cost(p.costs().latencies(), entries);
        CHECK(p.costs().plan_cost(entries) == Approx(truth).epsilon(1e-12));
        env.reset(current);
        CHECK(env.cost() == Approx(truth).epsilon(1e-12));
        const std::size_t mover = static_cast<std::size_t>(trial) % p.num_apps();
        env.focus(mover);
        std::uniform_int_distribution<std::size_t> pick(0, p.options(mover).size() - 1);
        const option& o = p.options(mover)[pick(rng)];
        entries[mover] = {o.num_frozen, o.fps};
        CHECK(env.cost_with(o) == Approx(per_layer_cost(p.costs().latencies(), entries)).epsilon(1e-12));
    }
}

TEST_CASE("cost: the cheapest plan is every app at its largest k and lowest fps") {
    const problem p = sched_test::shipped_problem({0, 1, 2});
    // 3 apps at k = 84, 1 fps: stem 0..83 once (20.8138 - latency of layer 84) + 3 x layer 84.
    const double last = p.costs().latencies().back();
    CHECK(p.cheapest_cost() == Approx(20.8138 - last + 3 * last).epsilon(1e-12));
    const problem ns = sched_test::shipped_problem({0, 1, 2}, mode::nosharing);
    CHECK(ns.cheapest_cost() == Approx(3 * 20.8138 * 0.1).epsilon(1e-12));
}
