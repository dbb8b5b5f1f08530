#pragma once
// Shared fixtures of the scheduler tests: the shipped apps (tests/data/sched/mainstream-apps.json,
// a copy of the public Mainstream scheduler's app file) and small hand-made problems.

#include <string>
#include <vector>

#include <stemshare/io/apps_file.hpp>
#include <stemshare/sched.hpp>

namespace sched_test {

inline const stemshare::io::apps_file& shipped() {
    static const stemshare::io::apps_file file =
        stemshare::io::load_apps_file(std::string(STEMSHARE_SCHED_TEST_DATA) + "/mainstream-apps.json");
    return file;
}

inline std::vector<stemshare::sched::app_spec> shipped_apps(const std::vector<int>& which) {
    std::vector<stemshare::sched::app_spec> out;
    for (int i : which) out.push_back(shipped().apps[static_cast<std::size_t>(i)]);
    return out;
}

inline stemshare::sched::problem shipped_problem(
    const std::vector<int>& which, stemshare::sched::mode m = stemshare::sched::mode::mainstream) {
    return stemshare::sched::problem(shipped_apps(which),
                                     stemshare::sched::cost_model(shipped().layer_latencies),
                                     shipped().stream_fps, m);
}

}  // namespace sched_test
