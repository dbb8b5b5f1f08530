#pragma once
// Runs the real `stemshare` binary (STEMSHARE_CLI, set by the suite's CMakeLists) for the CLI tests.

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace stemshare::test {

struct cli_result {
    int status;          ///< exit status, -1 when the process did not exit normally
    std::string output;  ///< stdout and stderr together
};

/// Runs `stemshare <args>` through the shell and collects its exit status and output.
inline cli_result run_cli(const std::string& args) {
    const std::string command = std::string(STEMSHARE_CLI) + " " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) out += buf.data();
    const int raw = pclose(pipe);
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, out};
}

}  // namespace stemshare::test
