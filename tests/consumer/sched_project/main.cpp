// A sched-only product: plans two apps in the compiler and again at run time; exits 0 when the two
// plans agree.
#include <cstdio>

#include <stemshare/sched.hpp>

namespace sched = stemshare::sched;

namespace {

constexpr sched::problem two_apps() {
    sched::app_spec door{"door", 500.0, 0.3, 0.107, 1.0, {{0, 0.92, 0.08}, {4, 0.88, 0.10}, {8, 0.70, 0.25}}};
    sched::app_spec car{"car", 1000.0, 0.5, 0.125, 1.0, {{0, 0.95, 0.02}, {4, 0.93, 0.03}, {8, 0.90, 0.05}}};
    sched::cost_model costs({3.0, 2.0, 2.0, 1.5, 1.0, 1.0, 0.5, 0.5, 0.2, 0.1});
    return sched::problem({door, car}, costs, 10.0);
}

constexpr auto planned = sched::to_fixed<2>(sched::exact(two_apps(), 40.0));
static_assert(planned.feasible());

}  // namespace

int main() {
    const auto at_run_time = sched::to_fixed<2>(sched::exact(two_apps(), 40.0));
    if (!(at_run_time == planned)) return 1;
    std::printf("consumer: installed stemshare::sched works (mean F1 %.4f)\n", planned.mean_f1());
    return 0;
}
