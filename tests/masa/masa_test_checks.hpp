// Checks the Masa tests share: results equal to solo runs, bit for bit, and copies of requests (a
// request owns its input, and a run consumes its requests).
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

#include <stemshare/masa/runtime.hpp>

#include "masa/masa_test_models.hpp"

namespace stemshare::test {

/// Every request of `report` ran, and its output is, bit for bit, a solo run of its network.
inline void check_all_match_solo(const std::vector<masa::network>& nets, const std::vector<masa::request>& requests,
                                 const masa::run_report& report) {
    REQUIRE(report.results.size() == requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto& res = report.results[i];
        CAPTURE(i);
        CAPTURE(res.error);
        REQUIRE(res.ok());
        CHECK(same_bits(res.output, masa::solo_run(nets[requests[i].network], requests[i].input)));
    }
}

inline std::vector<masa::request> copy_requests(const std::vector<masa::request>& in) {
    std::vector<masa::request> out;
    out.reserve(in.size());
    for (const auto& r : in) out.push_back({r.network, r.arrival_s, r.input});
    return out;
}

}  // namespace stemshare::test
