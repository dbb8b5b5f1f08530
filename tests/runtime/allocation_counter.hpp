#pragma once
// Counts every allocation of the test executable: allocation_counter.cpp replaces the global
// operator new (all forms) with counting versions.

#include <cstdint>

namespace stemshare::test {

/// Allocations made through operator new since the program started, all threads.
std::uint64_t allocation_count() noexcept;

}  // namespace stemshare::test
