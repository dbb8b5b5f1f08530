// Compile-time planning: a camera product with a fixed app mix plans its stems and frame rates in
// the compiler, and `static_assert` rejects a build whose plan would not fit the budget or would
// change. Run with --smoke (as ctest does) or without arguments; both print the plan.
#include <cstdio>
#include <cstring>

#include <stemshare/sched.hpp>

namespace sched = stemshare::sched;

namespace {

// Three apps fine-tuned from one 10-layer base model, each with candidates at k = 0, 4 and 8
// frozen layers (a = event-frame detection probability, b = false-flag probability).
constexpr sched::problem product_mix() {
    sched::app_spec door{"door", 500.0, 0.3, 0.107, 1.0, {{0, 0.92, 0.08}, {4, 0.88, 0.10}, {8, 0.70, 0.25}}};
    sched::app_spec parcel{"parcel", 500.0, 0.2,
                           0.107,    1.0,   {{0, 0.85, 0.05}, {4, 0.84, 0.06}, {8, 0.60, 0.20}}};
    sched::app_spec car{"car", 1000.0, 0.5, 0.125, 1.0, {{0, 0.95, 0.02}, {4, 0.93, 0.03}, {8, 0.90, 0.05}}};
    // Measured per-layer latencies in milliseconds per frame; the camera runs at 10 fps, and the
    // budget below is 60 ms of compute per second of video.
    sched::cost_model costs({3.0, 2.0, 2.0, 1.5, 1.0, 1.0, 0.5, 0.5, 0.2, 0.1});
    return sched::problem({door, parcel, car}, costs, 10.0);
}

constexpr double budget = 60.0;

// Planned by the compiler; fixed_plan keeps the result (a std::vector cannot leave constant evaluation).
constexpr auto best = sched::to_fixed<3>(sched::exact(product_mix(), budget));
constexpr auto original = sched::to_fixed<3>(sched::mainstream_greedy(product_mix(), budget));

static_assert(best.feasible(), "the app mix no longer fits the compute budget");
static_assert(best.sum_f1 >= original.sum_f1 - 1e-9, "exact must never lose to the greedy");
// The chosen plan, pinned: all three share layers 0..3 at 4 fps; parcel branches there and runs
// its own layers 4..9 at 3 fps; door and car share layers 4..7 too and branch at 8, both at 4 fps.
// Cost: 8.5 x 4 (layers 0..3) + 3.0 x (3 + 4) (layers 4..7) + 0.3 x (4 + 3 + 4) (layers 8, 9) = 58.3.
static_assert(best.apps[0].num_frozen == 8 && best.apps[1].num_frozen == 4 && best.apps[2].num_frozen == 8);
static_assert(best.apps[0].fps == 4.0 && best.apps[1].fps == 3.0 && best.apps[2].fps == 4.0);
static_assert(best.cost > 58.3 - 1e-9 && best.cost < 58.3 + 1e-9);

}  // namespace

int main(int argc, char** argv) {
    const bool smoke = argc > 1 && std::strcmp(argv[1], "--smoke") == 0;
    const char* names[] = {"door", "parcel", "car"};
    std::printf("compile-time plan (exact, budget %.1f)%s\n", budget, smoke ? " [smoke]" : "");
    for (std::size_t i = 0; i < 3; ++i)
        std::printf("  %-7s k=%d fps=%g F1=%.4f\n", names[i], best.apps[i].num_frozen, best.apps[i].fps,
                    best.apps[i].quality.f1);
    std::printf("  cost %.3f, mean F1 %.4f (original greedy: %.4f)\n", best.cost, best.mean_f1(),
                original.mean_f1());
    // The same plan at run time, from the same inputs.
    const auto runtime = sched::to_fixed<3>(sched::exact(product_mix(), budget));
    return runtime == best ? 0 : 1;
}
