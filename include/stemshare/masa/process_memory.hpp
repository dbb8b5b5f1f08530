#pragma once
/// \file
/// `masa::process_memory`: this process's memory as the kernel counts it (/proc/self/status), to
/// check the budget from outside the library's own accounting: the peak resident set (VmHWM),
/// which can be reset between runs, and the data segment size (VmData), which `RLIMIT_DATA` caps.

#include <cstdint>
#include <fstream>
#include <string>

namespace stemshare::masa {

struct process_memory {
    /// A /proc/self/status field in bytes ("VmHWM", "VmRSS", "VmData"); 0 when absent.
    [[nodiscard]] static std::uint64_t field(const std::string& name) {
        std::ifstream in("/proc/self/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind(name + ":", 0) == 0) return std::stoull(line.substr(name.size() + 1)) * 1024;
        return 0;
    }
    [[nodiscard]] static std::uint64_t peak_rss() { return field("VmHWM"); }
    [[nodiscard]] static std::uint64_t rss() { return field("VmRSS"); }
    [[nodiscard]] static std::uint64_t data() { return field("VmData"); }
    /// Resets VmHWM to the current RSS (writes "5" to /proc/self/clear_refs); false if refused.
    static bool reset_peak_rss() {
        std::ofstream out("/proc/self/clear_refs");
        out << "5";
        out.flush();
        return static_cast<bool>(out);
    }
};

}  // namespace stemshare::masa
