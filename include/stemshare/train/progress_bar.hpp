#pragma once
/// \file
/// `train::progress_bar`: one line redrawn in place with a bar, counts and an ETA on a terminal;
/// plain lines at every tenth of the work otherwise (logs and CI stay readable).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include <unistd.h>

namespace stemshare::train {

class progress_bar {
public:
    /// `total` units of work named `label`, drawn on `out` (nullptr: silent).
    progress_bar(std::int64_t total, std::string label, std::FILE* out = stderr)
        : total_(total > 0 ? total : 1),
          label_(std::move(label)),
          out_(out),
          terminal_(out != nullptr && isatty(fileno(out)) != 0),
          start_(std::chrono::steady_clock::now()) {}

    /// Reports `done` units finished; `note` (e.g. the current loss) is shown after the counts.
    void update(std::int64_t done, const std::string& note = {}) {
        if (out_ == nullptr) return;
        const double fraction = static_cast<double>(done) / static_cast<double>(total_);
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        const double eta = done > 0 ? elapsed * (1.0 - fraction) / fraction : 0.0;
        if (terminal_) {
            constexpr int width = 30;
            const int filled = static_cast<int>(fraction * width);
            std::string bar(static_cast<std::size_t>(filled), '#');
            bar.resize(width, '.');
            std::fprintf(out_, "\r%s [%s] %3d%% %lld/%lld %s ETA %s   ", label_.c_str(), bar.c_str(),
                         static_cast<int>(fraction * 100.0), static_cast<long long>(done),
                         static_cast<long long>(total_), note.c_str(), clock(eta).c_str());
            if (done >= total_) std::fprintf(out_, "\n");
            std::fflush(out_);
            return;
        }
        const int tenth = static_cast<int>(fraction * 10.0);
        if (tenth <= last_tenth_ && done < total_) return;
        last_tenth_ = tenth;
        std::fprintf(out_, "%s: %3d%% (%lld/%lld) %s elapsed %s ETA %s\n", label_.c_str(),
                     static_cast<int>(fraction * 100.0), static_cast<long long>(done),
                     static_cast<long long>(total_), note.c_str(), clock(elapsed).c_str(),
                     clock(eta).c_str());
        std::fflush(out_);
    }

    /// Seconds since construction.
    [[nodiscard]] double elapsed() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

private:
    static std::string clock(double seconds) {
        const auto s = static_cast<long long>(seconds + 0.5);
        char buf[32];
        std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
        return buf;
    }

    std::int64_t total_;
    std::string label_;
    std::FILE* out_;
    bool terminal_;
    std::chrono::steady_clock::time_point start_;
    int last_tenth_ = -1;
};

}  // namespace stemshare::train
