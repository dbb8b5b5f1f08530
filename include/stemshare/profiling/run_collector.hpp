#pragma once
/// \file
/// `run_collector`: the Google Benchmark reporter latency tables are gathered through. It keeps
/// every run Google Benchmark reports (each repetition and the aggregates) and passes each call on
/// to an optional inner reporter (console, JSON), so a program's usual output stays as it was.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <vector>

namespace stemshare::profiling {

class run_collector final : public benchmark::BenchmarkReporter {
public:
    /// What of a repeated benchmark the inner reporter is shown.
    enum class forward { everything, aggregates_only };

    /// `inner` (not owned, may be null) sees the runs as Google Benchmark reports them, or with
    /// `forward::aggregates_only` only the statistics rows (mean, median, stddev, cv, p90) of a
    /// repeated benchmark, and one row of a benchmark that failed in every repetition: that keeps a
    /// console readable when a table needs 30 repetitions.
    explicit run_collector(benchmark::BenchmarkReporter* inner = nullptr, forward what = forward::everything)
        : inner_(inner), forward_(what) {}

    bool ReportContext(const Context& context) override {
        return inner_ == nullptr || inner_->ReportContext(context);
    }

    void ReportRuns(const std::vector<Run>& reports) override {
        runs_.insert(runs_.end(), reports.begin(), reports.end());
        if (inner_ == nullptr || reports.empty()) return;
        if (forward_ == forward::everything || reports.front().run_type == Run::RT_Aggregate) {
            inner_->ReportRuns(reports);
            return;
        }
        // Google Benchmark reports a benchmark's repetitions and its aggregates in separate calls,
        // and computes no aggregates for one repetition or when fewer than two succeeded.
        std::size_t succeeded = 0;
        for (const Run& r : reports) succeeded += r.error_occurred ? 0 : 1;
        if (succeeded == 0)
            inner_->ReportRuns({reports.front()});  // one line for a benchmark that failed every time
        else if (reports.front().repetitions < 2 || succeeded < 2)
            inner_->ReportRuns(reports);
    }

    void Finalize() override {
        if (inner_ != nullptr) inner_->Finalize();
    }

    /// Every run reported so far, in the order Google Benchmark reported them.
    [[nodiscard]] const std::vector<Run>& runs() const noexcept { return runs_; }

private:
    benchmark::BenchmarkReporter* inner_;
    forward forward_;
    std::vector<Run> runs_;
};

}  // namespace stemshare::profiling
