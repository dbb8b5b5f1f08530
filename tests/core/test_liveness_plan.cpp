// The liveness plan shared by the oneDNN backend's activation arena and the runtime's stem-output
// arena: no two buffers live at a common step overlap, dead bytes are reused, and placement is
// deterministic (largest request first, ties in the order added).
#include <doctest/doctest.h>

#include <cstddef>
#include <random>
#include <string>

#include <stemshare/core/error.hpp>
#include <stemshare/core/liveness_plan.hpp>

using namespace stemshare;

TEST_CASE("liveness_plan: buffers live at the same step never overlap, dead ones are reused") {
    liveness_plan chain;
    chain.add(100, 0, 1);
    chain.add(100, 1, 2);
    chain.add(100, 2, 3);
    chain.solve();
    CHECK(chain.arena_bytes() == 256);  // 100 rounds to 128; the first and last share bytes
    CHECK(chain.total_bytes() == 384);
    CHECK(chain.offset(0) == chain.offset(2));

    std::mt19937 rng(7);
    for (int trial = 0; trial < 50; ++trial) {
        liveness_plan p;
        const int n = 1 + static_cast<int>(rng() % 30);
        for (int i = 0; i < n; ++i) {
            const std::size_t first = rng() % 40;
            p.add(1 + rng() % 5000, first, first + rng() % 10);
        }
        p.solve();
        CHECK(p.arena_bytes() <= p.total_bytes());
        for (std::size_t i = 0; i < p.size(); ++i) {
            CHECK(p.offset(i) % liveness_plan::alignment == 0);
            CHECK(p.offset(i) + p.bytes(i) <= p.arena_bytes());
            for (std::size_t j = i + 1; j < p.size(); ++j)
                if (p.live_together(i, j))
                    CHECK(
                        (p.offset(i) + p.bytes(i) <= p.offset(j) || p.offset(j) + p.bytes(j) <= p.offset(i)));
        }
    }
}

TEST_CASE(
    "liveness_plan: larger requests go first, equal ones in the order added, totals with and without "
    "alignment") {
    liveness_plan p;
    p.add(100, 0, 2);  // both round to 128, but 120 bytes were asked for: it is placed first
    p.add(120, 1, 3);
    p.add(120, 2, 2);  // ties with buffer 1: placed after it
    p.add(1, 5, 6);    // dead before: reuses offset 0
    p.solve();
    CHECK(p.offset(1) == 0);
    CHECK(p.offset(2) == 128);
    CHECK(p.offset(0) == 256);
    CHECK(p.offset(3) == 0);
    CHECK(p.arena_bytes() == 384);
    CHECK(p.bytes(3) == liveness_plan::alignment);
    CHECK(p.total_bytes() == 3 * 128 + 64);
    CHECK(p.requested_bytes() == 100 + 120 + 120 + 1);

    liveness_plan empty;
    empty.solve();
    CHECK(empty.arena_bytes() == 0);
    CHECK(empty.requested_bytes() == 0);
}

TEST_CASE("liveness_plan: a buffer dying before it is written, or offsets before solve(), are errors") {
    liveness_plan p;
    CHECK_THROWS_WITH_AS(p.add(64, 3, 2),
                         doctest::Contains("liveness_plan: a buffer cannot die before it is written"), error);
    p.add(64, 0, 0);
    CHECK_THROWS_WITH_AS((void)p.offset(0), doctest::Contains("offsets asked before solve()"), error);
    p.solve();
    CHECK(p.offset(0) == 0);
    p.add(64, 0, 0);  // adding again invalidates the offsets
    CHECK_THROWS_AS((void)p.offset(0), error);
}
