#pragma once
// Allocation counting for the tests that assert "nothing allocated per frame". A test executable
// that compiles allocation_counter.cpp has its global operator new / delete replaced by counting
// versions (one per executable: the replacement is program-wide).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stemshare::test {

/// Allocations made through operator new since the program started, all threads.
std::uint64_t allocation_count() noexcept;

/// Records the callers of every allocation while it lives (one recorder at a time), so a test can
/// tell allocations made inside a library it cannot change from its own.
class allocation_recorder {
public:
    static constexpr std::size_t capacity = std::size_t{1} << 18;

    allocation_recorder();
    ~allocation_recorder();
    allocation_recorder(const allocation_recorder&) = delete;
    allocation_recorder& operator=(const allocation_recorder&) = delete;

    /// Allocations recorded so far.
    [[nodiscard]] std::size_t count() const noexcept;
    /// Recorded allocations whose caller's shared object path does not contain `library`, and a
    /// description ("path+offset") of the first few of them.
    [[nodiscard]] std::size_t outside(std::string_view library, std::string* first_callers = nullptr) const;
};

}  // namespace stemshare::test
