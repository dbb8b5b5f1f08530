#pragma once
/// \file
/// Holds a job (one or more threads) to a CPU share by time slicing, without cgroups: the job's
/// threads call `throttle()` between work units, and a job that has used more CPU than its share
/// allows sleeps until the share catches up. Ekya's real mode (docs/ekya.md) runs every camera's
/// inference and retraining job behind one of these.

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>

namespace stemshare::runtime {

/// Thrown by `cpu_share_gate::throttle` once the gate is stopped: the job should end.
struct job_stopped {};

/// A job's CPU share, in CPUs (0.3 = 30% of one core, 1.5 = one and a half cores). A job at share
/// s runs on ceil(s) threads (`threads()`), and together they may use s CPU-seconds per second:
/// within each slice period the job runs until it has used s x period and sleeps the rest. CPU
/// used past a slice's allowance (a work unit longer than the slack) is debt the next slices
/// repay, so the long-run mean holds even with coarse work units. Unused allowance carries over
/// for one slice only, so a job that waited for work cannot burst above its share.
///
/// CPU is measured per joined thread with its own clock (`pthread_getcpuclockid`, the clock
/// behind `CLOCK_THREAD_CPUTIME_ID`), summed. Every thread that joined must `leave_all()` (through
/// one of them or the job's owner) before it exits: a dead thread's clock cannot be read.
class cpu_share_gate {
public:
    using clock = std::chrono::steady_clock;

    /// Throws `stemshare::error` naming the share unless `cpus` is finite and >= 0 and `slice` > 0.
    explicit cpu_share_gate(double cpus, std::chrono::microseconds slice = std::chrono::milliseconds(20))
        : slice_(std::chrono::duration<double>(slice).count()) {
        check(cpus);
        require(slice_ > 0, "cpu share gate", "slice period must be positive");
        cpus_ = cpus;
        start_ = last_ = clock::now();
    }

    cpu_share_gate(const cpu_share_gate&) = delete;
    cpu_share_gate& operator=(const cpu_share_gate&) = delete;

    /// Threads a job at this share runs on: ceil(share), at least 1.
    [[nodiscard]] int threads() const {
        const std::scoped_lock lock(mutex_);
        return threads_for(cpus_);
    }

    /// Threads a job at share `cpus` runs on.
    [[nodiscard]] static int threads_for(double cpus) {
        return std::max(1, static_cast<int>(std::ceil(cpus - 1e-9)));
    }

    /// The current share, in CPUs.
    [[nodiscard]] double cpus() const {
        const std::scoped_lock lock(mutex_);
        return cpus_;
    }

    /// Changes the share from now on (a re-allocation); wakes throttled threads.
    void set_cpus(double cpus) {
        check(cpus);
        {
            const std::scoped_lock lock(mutex_);
            account(clock::now());
            cpus_ = cpus;
            credit_ = std::min(credit_, cpus_ * slice_);
        }
        wake_.notify_all();
    }

    /// Counts the calling thread's CPU time from now on. Joining twice is harmless.
    void join() {
        clockid_t id{};
        require(pthread_getcpuclockid(pthread_self(), &id) == 0, "cpu share gate",
                "cannot read this thread's CPU clock");
        const std::scoped_lock lock(mutex_);
        for (const member& m : members_)
            if (m.id == id) return;
        members_.push_back({id, read(id)});
    }

    /// Folds every joined thread's CPU time so far into the total and forgets the threads (call
    /// before they exit, or before re-joining a new team).
    void leave_all() {
        const std::scoped_lock lock(mutex_);
        account(clock::now());
        for (const member& m : members_) folded_ += read(m.id) - m.start;
        members_.clear();
        used_last_ = folded_;
    }

    /// Call between work units from any joined thread: returns at once while the job is within its
    /// share, sleeps while it is over; throws `job_stopped` once `stop()` was called.
    void throttle() {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (stopped_) throw job_stopped{};
            account(clock::now());
            if (credit_ >= 0 && cpus_ > 0) return;
            // Asleep, the job earns cpus_ CPU-seconds per second: wait until the debt is repaid,
            // at most one slice at a time so a share change or a stop is seen promptly.
            const double wait = cpus_ > 0 ? std::min(slice_, -credit_ / cpus_) : slice_;
            wake_.wait_for(lock, std::chrono::duration<double>(std::max(wait, 1e-4)));
        }
    }

    /// Makes every later `throttle()` throw `job_stopped` and wakes sleeping threads.
    void stop() {
        {
            const std::scoped_lock lock(mutex_);
            stopped_ = true;
        }
        wake_.notify_all();
    }

    [[nodiscard]] bool stopped() const {
        const std::scoped_lock lock(mutex_);
        return stopped_;
    }

    /// CPU-seconds the job's threads used since they joined.
    [[nodiscard]] double cpu_seconds() const {
        const std::scoped_lock lock(mutex_);
        return used_now();
    }

    /// Integral of the share over the gate's life so far: CPU-seconds the share allowed.
    [[nodiscard]] double share_seconds() {
        const std::scoped_lock lock(mutex_);
        account(clock::now());
        return allowed_;
    }

    /// Wall seconds since the gate was made.
    [[nodiscard]] double wall_seconds() const {
        return std::chrono::duration<double>(clock::now() - start_).count();
    }

private:
    struct member {
        clockid_t id;
        double start;
    };

    static void check(double cpus) {
        require(std::isfinite(cpus) && cpus >= 0, "cpu share gate",
                "share must be a finite number of CPUs >= 0, got " + std::to_string(cpus));
    }

    static double read(clockid_t id) {
        timespec ts{};
        require(clock_gettime(id, &ts) == 0, "cpu share gate",
                "cannot read a joined thread's CPU clock (did it exit before leave_all?)");
        return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
    }

    double used_now() const {
        double used = folded_;
        for (const member& m : members_) used += read(m.id) - m.start;
        return used;
    }

    /// Brings the allowance and the credit up to `now` (mutex held).
    void account(clock::time_point now) {
        const double dt = std::chrono::duration<double>(now - last_).count();
        const double used = used_now();
        allowed_ += cpus_ * dt;
        credit_ = std::min(credit_ + cpus_ * dt - (used - used_last_), cpus_ * slice_);
        used_last_ = used;
        last_ = now;
    }

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    double slice_;
    double cpus_ = 0;
    std::vector<member> members_;
    double folded_ = 0;     ///< CPU of threads that left
    double used_last_ = 0;  ///< CPU used at the last accounting
    double credit_ = 0;     ///< CPU-seconds the job may still use now (negative: debt)
    double allowed_ = 0;    ///< integral of the share
    clock::time_point start_, last_;
    bool stopped_ = false;
};

}  // namespace stemshare::runtime
