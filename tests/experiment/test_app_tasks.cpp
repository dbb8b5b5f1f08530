// The demo's app set (tools/fashion): ten apps, none targeting a class the base model trained on.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

#include <stemshare/core/error.hpp>

#include <fashion/app_tasks.hpp>

using namespace stemshare;

TEST_CASE("apps: ten apps with unique names whose targets the base model never saw") {
    const auto apps = fashion::all_apps();
    CHECK(apps.size() == 10);
    std::set<std::string> names;
    for (const auto& a : apps) {
        names.insert(std::string(a.name));
        CHECK(!a.targets.empty());
        for (auto t : a.targets) {
            CAPTURE(std::string(a.name));
            CHECK(std::find(fashion::base_classes.begin(), fashion::base_classes.end(), t) ==
                  fashion::base_classes.end());
            CHECK(a.is_target(t));
        }
    }
    CHECK(names.size() == 10);
    CHECK(fashion::find_app("footwear").targets == std::vector<std::int32_t>{5, 7, 9});
    CHECK_THROWS_WITH_AS((void)fashion::find_app("hat"), doctest::Contains("sneaker, coat"),
                         stemshare::error);
}
