#pragma once
// Shared by the libFuzzer harnesses (tests/fuzz/): the contract every parser keeps and the scratch
// files the path-taking loaders read.
//
// The contract: an input either loads or throws stemshare::error. Any other exception aborts
// (libFuzzer reports it as a crash with the input); crashes, leaks and undefined behaviour are
// caught by ASan + UBSan; an allocation above -malloc_limit_mb (tools/fuzz.sh: 512 MiB, far above
// what any input of at most -max_len bytes legitimately needs) is reported by libFuzzer.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>

#include <unistd.h>

#include <stemshare/core/error.hpp>

namespace stemshare::fuzz {

/// A folder of this process's own under $TMPDIR (or /tmp), removed at exit.
inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        const char* base = std::getenv("TMPDIR");
        std::filesystem::path d = std::filesystem::path(base != nullptr ? base : "/tmp") /
                                  ("stemshare-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        static const struct cleanup {
            std::filesystem::path p;
            ~cleanup() {
                std::error_code ec;
                std::filesystem::remove_all(p, ec);
            }
        } remover{d};
        return d;
    }();
    return dir;
}

/// Writes `bytes` to `path` (replacing it).
inline void write_bytes(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        std::fprintf(stderr, "fuzz harness: cannot write scratch file %s\n", path.c_str());
        std::abort();
    }
}

/// Runs `f`; a stemshare::error is an accepted outcome, any other exception aborts.
template <class F>
void expect_loads_or_named_error(F&& f) {
    try {
        f();
    } catch (const stemshare::error&) {
        // refused with a named error: the contract holds
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz harness: an exception other than stemshare::error escaped: %s\n", e.what());
        std::abort();
    } catch (...) {
        std::fprintf(stderr, "fuzz harness: a non-std exception escaped\n");
        std::abort();
    }
}

}  // namespace stemshare::fuzz
