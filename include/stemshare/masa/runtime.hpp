#pragma once
/// \file
/// `masa::runtime`: runs inference requests for several networks layer by layer under a hard
/// memory budget, as EdgeCaffe's task graph (docs/masa.md): each request becomes INIT, LOAD s
/// and EXEC s for every segment s (the layers between two branch points), run by a small pool of
/// workers (2 by default) that each take the ready task the scheduler picks.
///
/// The budget is hard. Every byte a request holds is accounted before it is allocated: its input,
/// every segment's raw and packed weights, work memory and output (network.hpp). A request is
/// admitted (its INIT runs) only when its mode's requirement fits: the most it can hold when run
/// in the mode's order (for partial and masa the linear peak: the largest segment's load plus the
/// activation entering it), reserved for it until it finishes. That reservation is a floor:
/// loads the mode lets run ahead take extra bytes only while the budget has them free, so an
/// admitted request can always make progress and no worker ever waits for memory another one
/// holds. A request whose requirement exceeds the budget is refused at once with an error naming
/// both.
///
/// Stem-aware (mode masa-stem): a segment whose stem-trie fingerprint (network.hpp) occurs in
/// several of the run's networks is shared. After executing one, the runtime keeps its compiled
/// copy resident if the budget has the bytes free (beyond every reservation); a later request for
/// any network with that stem runs the resident copy (one request at a time) instead of loading it.
/// A request admitted while such copies are resident pins them, so they cannot go, and reserves
/// only its output for those segments. When a request cannot be admitted and no request is running
/// (so nothing is pinned), resident copies are evicted least recently used first until it fits;
/// they are counted against the same hard budget as everything else.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/masa/memory_budget.hpp>
#include <stemshare/masa/mode.hpp>
#include <stemshare/masa/network.hpp>
#include <stemshare/masa/request.hpp>
#include <stemshare/masa/requirement.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::masa {

class runtime {
public:
    /// `networks` must outlive the runtime; requests name them by index.
    runtime(std::vector<const network*> networks, run_options options)
        : networks_(std::move(networks)), options_(options), budget_(options.budget_bytes) {
        if (options_.workers < 1) throw error("masa::runtime", "needs at least one worker");
        if (masa_scheduled(options_.run_mode)) options_.scheduler = scheduler_kind::masa;
        if (options_.run_mode == mode::masa_stem) find_shared_segments();
        if ((options_.run_mode == mode::deepeye || options_.run_mode == mode::deepeye_frugal) &&
            options_.workers < 2)
            throw error("masa::runtime",
                        "mode " + std::string(to_string(options_.run_mode)) + " needs 2 workers");
    }

    /// Runs every request to completion (or refusal, or failure) and reports each one.
    [[nodiscard]] run_report run(std::vector<request> requests) {
        jobs_.clear();
        trace_.clear();
        bytes_read_ = 0;
        held_ = peak_held_ = 0;
        resident_.clear();
        resident_bytes_ = peak_resident_ = 0;
        hits_ = evictions_ = 0;
        budget_ = memory_budget(options_.budget_bytes);
        for (std::size_t i = 0; i < requests.size(); ++i) add_job(i, std::move(requests[i]));
        // First come is first to arrive; ties keep the request order.
        std::stable_sort(jobs_.begin(), jobs_.end(), [](const auto& a, const auto& b) {
            return a->result.arrival_s < b->result.arrival_s;
        });
        for (std::size_t i = 0; i < jobs_.size(); ++i) jobs_[i]->order = i;
        start_ = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        for (int w = 0; w < options_.workers; ++w) pool.emplace_back([this, w] { work(w); });
        for (auto& t : pool) t.join();
        run_report report;
        report.resident_hits = hits_;
        report.evictions = evictions_;
        // The run is over: resident copies go (not evictions).
        while (evict_one()) {
        }
        report.peak_resident_bytes = peak_resident_;
        report.budget_bytes = options_.budget_bytes;
        report.peak_held_bytes = peak_held_;
        report.peak_reserved_bytes = budget_.peak();
        report.bytes_read = bytes_read_;
        report.wall_s = now();
        report.trace = std::move(trace_);
        report.results.resize(jobs_.size());
        for (auto& j : jobs_) report.results[j->result.request] = std::move(j->result);
        jobs_.clear();
        return report;
    }

private:
    /// A shared segment's compiled copy kept between requests (masa-stem).
    struct resident_segment {
        std::unique_ptr<onednn::compiled_graph> compiled;
        /// Packed weights, work memory and descriptors: the segment's resident bytes but its output.
        std::uint64_t bytes = 0;
        /// Admitted requests that will run it: it cannot be evicted while any does.
        int pins = 0;
        /// A request is executing it (a compiled graph runs one input at a time).
        bool busy = false;
        std::uint64_t last_use = 0;
    };
    using segment_key = std::pair<stem::fingerprint, int>;

    struct job {
        const network* net = nullptr;
        std::size_t order = 0;
        requirement need;
        tensor<float> input;
        request_result result;
        bool admitted = false;
        bool init_done = false;
        bool finished = false;
        bool failed = false;
        int in_flight = 0;
        bool exec_in_flight = false;
        int loads_in_flight = 0;
        std::size_t next_load = 0;     ///< next segment to load (bulk, linear, partial, masa)
        std::size_t next_fc_load = 0;  ///< deepeye: the next fully-connected segment to load
        std::size_t next_exec = 0;
        std::vector<bool> loaded;
        std::vector<std::unique_ptr<onednn::compiled_graph>> compiled;
        /// masa-stem: the resident copy segment s runs (pinned by this request), or null.
        std::vector<resident_segment*> hit;
        std::vector<tensor<float>> outs;
        std::uint64_t held = 0;
        std::uint64_t charge = 0;
    };
    struct pick {
        job* j = nullptr;
        task_kind kind = task_kind::init;
        std::size_t segment = 0;
    };

    [[nodiscard]] double now() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

    void add_job(std::size_t id, request r) {
        auto j = std::make_unique<job>();
        if (r.network >= networks_.size())
            throw error(
                "masa::runtime: request " + std::to_string(id),
                "names network " + std::to_string(r.network) + " of " + std::to_string(networks_.size()));
        j->net = networks_[r.network];
        j->order = id;
        j->need = requirement_of(*j->net, options_.run_mode);
        j->result.request = id;
        j->result.network = r.network;
        j->result.arrival_s = r.arrival_s;
        j->input = std::move(r.input);
        const std::size_t segs = j->net->segments().size();
        j->loaded.assign(segs, false);
        j->compiled.resize(segs);
        j->hit.assign(segs, nullptr);
        j->outs.resize(segs);
        j->next_fc_load = first_fc(*j);
        if (j->need.bytes > options_.budget_bytes) {
            const auto& seg = j->net->segments()[j->need.segment];
            j->result.refused = true;
            j->result.error = "masa: network '" + j->net->name() + "' in mode " +
                              std::string(to_string(options_.run_mode)) + " needs " +
                              format_bytes(j->need.bytes) + " (its largest step, segment " +
                              std::to_string(j->need.segment) + " = layers " + std::to_string(seg.begin) +
                              ".." + std::to_string(seg.end) +
                              ", with the live activations) but the memory budget is " +
                              format_bytes(options_.budget_bytes);
            j->result.start_s = j->result.finish_s = r.arrival_s;
            j->finished = true;
        }
        jobs_.push_back(std::move(j));
    }

    [[nodiscard]] static std::size_t first_fc(const job& j) {
        const auto& segs = j.net->segments();
        for (std::size_t s = 0; s < segs.size(); ++s)
            if (segs[s].fully_connected) return s;
        return segs.size();
    }
    [[nodiscard]] bool deepeye() const {
        return options_.run_mode == mode::deepeye || options_.run_mode == mode::deepeye_frugal;
    }

    // Accounting (under the lock). A job's charge against the budget is max(requirement, held).
    [[nodiscard]] bool fits(const job& j, std::uint64_t extra) const {
        const std::uint64_t charge = std::max(j.need.bytes, j.held + extra);
        return charge <= j.charge || budget_.fits(charge - j.charge);
    }
    void grow(job& j, std::uint64_t extra) {
        const std::uint64_t charge = std::max(j.need.bytes, j.held + extra);
        if (charge > j.charge) budget_.acquire(charge - j.charge);
        j.charge = std::max(charge, j.charge);
        j.held += extra;
        held_ += extra;
        peak_held_ = std::max(peak_held_, held_);
    }
    void shrink(job& j, std::uint64_t bytes) {
        bytes = std::min(bytes, j.held);
        j.held -= bytes;
        held_ -= bytes;
        const std::uint64_t charge = std::max(j.need.bytes, j.held);
        if (charge < j.charge) {
            budget_.release(j.charge - charge);
            j.charge = charge;
        }
    }

    // Stem-aware residency (under the lock).
    [[nodiscard]] static segment_key key_of(const job& j, std::size_t s) {
        return {j.net->segments()[s].id, j.net->threads()};
    }
    /// Finds the segments that occur (same fingerprint, same thread count) in several networks.
    void find_shared_segments() {
        std::map<segment_key, std::vector<const network*>> users;
        for (const network* n : networks_)
            for (const auto& seg : n->segments()) {
                auto& u = users[{seg.id, n->threads()}];
                if (std::find(u.begin(), u.end(), n) == u.end()) u.push_back(n);
            }
        for (auto& [key, u] : users)
            if (u.size() > 1) shared_.insert(shared_.end(), key);
    }
    [[nodiscard]] bool shared(const job& j, std::size_t s) const {
        return !shared_.empty() && std::binary_search(shared_.begin(), shared_.end(), key_of(j, s));
    }
    /// True when `j`'s segment `s` may stay resident after it runs (decided under the lock).
    [[nodiscard]] bool keep_candidate(const job& j, std::size_t s) const {
        return options_.run_mode == mode::masa_stem && shared(j, s);
    }
    /// The resident copy of `j`'s segment `s`, or null.
    [[nodiscard]] resident_segment* resident_copy(const job& j, std::size_t s) {
        if (!shared(j, s)) return nullptr;
        const auto it = resident_.find(key_of(j, s));
        return it == resident_.end() ? nullptr : &it->second;
    }
    /// True when the LOAD of `j`'s segment `s` would find it resident.
    [[nodiscard]] bool would_hit(const job& j, std::size_t s) const {
        return j.hit[s] != nullptr || (shared(j, s) && resident_.contains(key_of(j, s)));
    }
    /// The requirement of `j` given the resident copies it would pin now: the linear peak with
    /// only the output counted for a resident segment.
    [[nodiscard]] requirement admission_need(const job& j) const {
        if (options_.run_mode != mode::masa_stem) return j.need;
        const auto& segs = j.net->segments();
        requirement r{j.net->input_bytes(), 0};
        for (std::size_t s = 0; s < segs.size(); ++s) {
            const std::uint64_t step =
                j.net->in_bytes(s) + (would_hit(j, s) ? segs[s].out_bytes : segs[s].load_peak());
            if (step > r.bytes) r = {step, s};
        }
        return r;
    }
    void pin(job& j, std::size_t s, resident_segment* r) {
        ++r->pins;
        j.hit[s] = r;
    }
    void unpin(job& j, std::size_t s) {
        if (j.hit[s] == nullptr) return;
        --j.hit[s]->pins;
        j.hit[s]->last_use = ++use_clock_;
        j.hit[s] = nullptr;
    }
    /// Keeps the compiled segment `s` that `j` just executed resident when it is shared, not
    /// resident yet and its bytes are free; otherwise frees it.
    void keep_or_free(job& j, std::size_t s) {
        if (j.compiled[s] == nullptr) return;
        const auto& seg = j.net->segments()[s];
        const std::uint64_t bytes = seg.resident() - seg.out_bytes;
        if (shared(j, s) && !resident_.contains(key_of(j, s)) && budget_.fits(bytes)) {
            budget_.acquire(bytes);
            held_ += bytes;
            peak_held_ = std::max(peak_held_, held_);
            resident_bytes_ += bytes;
            peak_resident_ = std::max(peak_resident_, resident_bytes_);
            resident_segment& r = resident_[key_of(j, s)];
            r.compiled = std::move(j.compiled[s]);
            r.bytes = bytes;
            r.last_use = ++use_clock_;
        }
        j.compiled[s].reset();
    }
    /// Evicts the least recently used resident copy nobody pins; false when there is none.
    bool evict_one() {
        auto victim = resident_.end();
        for (auto it = resident_.begin(); it != resident_.end(); ++it)
            if (it->second.pins == 0 &&
                (victim == resident_.end() || it->second.last_use < victim->second.last_use))
                victim = it;
        if (victim == resident_.end()) return false;
        const std::uint64_t bytes = victim->second.bytes;
        resident_.erase(victim);
        budget_.release(bytes);
        held_ -= bytes;
        resident_bytes_ -= bytes;
        ++evictions_;
        return true;
    }

    /// The tasks of job `j` that worker `w` could start now, memory aside.
    void ready_tasks(job& j, int w, std::vector<pick>& out) const {
        const auto& segs = j.net->segments();
        const std::size_t n = segs.size();
        const mode m = options_.run_mode;
        if (!j.admitted) {
            if (!deepeye() || w == 0) out.push_back({&j, task_kind::init, 0});
            return;
        }
        if (!j.init_done || j.failed) return;
        const bool all_loaded = j.next_load == n && j.loads_in_flight == 0;
        if (j.next_exec < n && j.loaded[j.next_exec] && !j.exec_in_flight && (!deepeye() || w == 0)) {
            bool ok = j.hit[j.next_exec] == nullptr || !j.hit[j.next_exec]->busy;
            if (m == mode::bulk) ok = all_loaded;
            if (deepeye() && segs[j.next_exec].fully_connected)
                ok = j.next_fc_load == n && j.loads_in_flight == 0;
            if (ok) out.push_back({&j, task_kind::exec, j.next_exec});
        }
        if (deepeye()) {
            // Worker 0 alone loads and runs the convolutions, one after another: it loads the
            // segment it runs next.
            const std::size_t c = j.next_exec;
            if (w == 0 && c < n && !segs[c].fully_connected && !j.exec_in_flight && !j.loaded[c])
                out.push_back({&j, task_kind::load, c});
            const std::size_t f = j.next_fc_load;
            if (w == 1 && f < n && !frugal_blocked(j)) out.push_back({&j, task_kind::load, f});
            return;
        }
        if (j.next_load >= n) return;
        switch (m) {
            case mode::bulk:
                if (j.loads_in_flight == 0) out.push_back({&j, task_kind::load, j.next_load});
                break;
            case mode::linear:
                if (j.loads_in_flight == 0 && !j.exec_in_flight && j.next_load == j.next_exec)
                    out.push_back({&j, task_kind::load, j.next_load});
                break;
            default:
                out.push_back({&j, task_kind::load, j.next_load});
                break;
        }
    }

    /// deepeye-frugal: a network's FC loads wait until the previous network's FC executions finished.
    [[nodiscard]] bool frugal_blocked(const job& j) const {
        if (options_.run_mode != mode::deepeye_frugal) return false;
        for (const auto& other : jobs_) {
            if (other->order >= j.order || !other->admitted || other->finished) continue;
            if (other->next_exec < other->net->segments().size()) return true;
        }
        return false;
    }

    [[nodiscard]] std::uint64_t task_bytes(const pick& p) const {
        if (p.kind != task_kind::load) return 0;
        const auto& seg = p.j->net->segments()[p.segment];
        return would_hit(*p.j, p.segment) ? seg.out_bytes : seg.load_peak();
    }

    [[nodiscard]] std::optional<pick> choose(int w, double t) {
        bool any_active = false;
        for (const auto& j : jobs_) any_active = any_active || (j->admitted && !j->finished);
        std::vector<pick> ready;
        for (const auto& j : jobs_) {
            if (j->finished || j->result.arrival_s > t) continue;
            if (!j->admitted && one_network_at_a_time(options_.run_mode) && any_active) continue;
            ready_tasks(*j, w, ready);
        }
        const auto fits_now = [&](const pick& p) {
            if (p.kind == task_kind::init) return budget_.fits(admission_need(*p.j).bytes);
            return fits(*p.j, task_bytes(p));
        };
        const auto kind_rank = [](task_kind k) {
            return k == task_kind::exec ? 0 : k == task_kind::load ? 1 : 2;
        };
        std::vector<pick> fitting;
        for (const auto& p : ready)
            if (fits_now(p)) fitting.push_back(p);
        if (fitting.empty() && !any_active && !resident_.empty()) {
            // Nothing fits and no request runs: make room for the request Masa would admit first
            // by evicting resident copies (none is pinned now), least recently used first. While
            // requests run, a waiting one waits for their reservations instead: evicting a stem to
            // admit a second request early would make the next request for that stem read it
            // again. Admitted requests never need eviction: their reservations cover them.
            std::optional<pick> first;
            for (const auto& p : ready)
                if (p.kind == task_kind::init &&
                    (!first || std::pair(p.j->net->exec_seconds(), p.j->order) <
                                   std::pair(first->j->net->exec_seconds(), first->j->order)))
                    first = p;
            if (first) {
                while (!fits_now(*first) && evict_one()) {
                }
                if (fits_now(*first)) return first;
            }
        }
        if (fitting.empty()) return std::nullopt;
        switch (options_.scheduler) {
            case scheduler_kind::fcfs:
                return *std::min_element(fitting.begin(), fitting.end(), [&](const pick& a, const pick& b) {
                    return std::pair(a.j->order, kind_rank(a.kind)) <
                           std::pair(b.j->order, kind_rank(b.kind));
                });
            case scheduler_kind::sjf:
                return *std::min_element(fitting.begin(), fitting.end(), [&](const pick& a, const pick& b) {
                    return std::tuple(a.j->net->job_seconds(), a.j->order, kind_rank(a.kind)) <
                           std::tuple(b.j->net->job_seconds(), b.j->order, kind_rank(b.kind));
                });
            case scheduler_kind::masa:
                break;
        }
        // Masa: an execution if any is ready (shortest network first); else the first INIT/LOAD
        // by (network mean execution time, task type, id) whose memory fits.
        std::optional<pick> best;
        const auto masa_key = [](const pick& p) {
            return std::tuple(p.kind == task_kind::exec ? 0 : 1, p.j->net->exec_seconds(),
                              p.kind == task_kind::init ? 0 : 1, p.j->order, p.segment);
        };
        for (const auto& p : fitting)
            if (!best || masa_key(p) < masa_key(*best)) best = p;
        return best;
    }

    void start(const pick& p) {
        job& j = *p.j;
        ++j.in_flight;
        switch (p.kind) {
            case task_kind::init:
                j.admitted = true;
                j.result.start_s = now();
                if (options_.run_mode == mode::masa_stem) {
                    j.need = admission_need(j);
                    for (std::size_t s = 0; s < j.hit.size(); ++s)
                        if (resident_segment* r = resident_copy(j, s)) pin(j, s, r);
                }
                budget_.acquire(j.need.bytes);
                j.charge = j.need.bytes;
                grow(j, j.net->input_bytes());
                break;
            case task_kind::load:
                if (j.hit[p.segment] == nullptr)
                    if (resident_segment* r = resident_copy(j, p.segment)) pin(j, p.segment, r);
                grow(j, j.hit[p.segment] != nullptr ? j.net->segments()[p.segment].out_bytes
                                                    : j.net->segments()[p.segment].load_peak());
                ++j.loads_in_flight;
                if (deepeye()) {
                    if (j.net->segments()[p.segment].fully_connected)
                        j.next_fc_load = next_fc_after(j, p.segment);
                } else {
                    j.next_load = p.segment + 1;
                }
                break;
            case task_kind::exec:
                j.exec_in_flight = true;
                if (j.hit[p.segment] != nullptr) j.hit[p.segment]->busy = true;
                break;
        }
    }
    [[nodiscard]] static std::size_t next_fc_after(const job& j, std::size_t s) {
        const auto& segs = j.net->segments();
        for (std::size_t k = s + 1; k < segs.size(); ++k)
            if (segs[k].fully_connected) return k;
        return segs.size();
    }

    /// Runs the task outside the lock; returns the error text on failure.
    std::string execute(const pick& p) {
        job& j = *p.j;
        const network& net = *j.net;
        try {
            switch (p.kind) {
                case task_kind::init: {
                    const shape in = net.skeleton().input_shape();
                    if (!(j.input.extents() == dims{1, in.c, in.h, in.w}))
                        throw error("masa request " + std::to_string(j.order),
                                    "input is " + to_string(j.input.extents()) + ", network '" + net.name() +
                                        "' takes " + to_string(dims{1, in.c, in.h, in.w}));
                    break;
                }
                case task_kind::load: {
                    const auto& seg = net.segments()[p.segment];
                    if (const resident_segment* r = j.hit[p.segment]) {
                        const shape out = r->compiled->output_shape();
                        j.outs[p.segment] = tensor<float>(dims{1, out.c, out.h, out.w});
                        break;
                    }
                    {
                        segment_weights weights = net.store().read(p.segment, options_.reads);
                        graph part = net.skeleton().slice(seg.begin, seg.end);
                        for (std::size_t i = 0; i < weights.size(); ++i) part.bind(i, std::move(weights[i]));
                        j.compiled[p.segment] = std::make_unique<onednn::compiled_graph>(
                            part, onednn::compile_options{.threads = net.threads()});
                    }
                    const shape out = j.compiled[p.segment]->output_shape();
                    j.outs[p.segment] = tensor<float>(dims{1, out.c, out.h, out.w});
                    break;
                }
                case task_kind::exec: {
                    const tensor<float>& in = p.segment == 0 ? j.input : j.outs[p.segment - 1];
                    resident_segment* r = j.hit[p.segment];
                    onednn::compiled_graph& compiled = r != nullptr ? *r->compiled : *j.compiled[p.segment];
                    compiled.run(in.view(), j.outs[p.segment].view());
                    // A shared segment may stay resident: the lock decides (finish).
                    if (r == nullptr && !keep_candidate(j, p.segment)) j.compiled[p.segment].reset();
                    if (p.segment == 0)
                        j.input = tensor<float>();
                    else
                        j.outs[p.segment - 1] = tensor<float>();
                    break;
                }
            }
        } catch (const std::exception& e) {
            return e.what();
        }
        return {};
    }

    void finish(const pick& p, const std::string& failure) {
        job& j = *p.j;
        const auto& segs = j.net->segments();
        --j.in_flight;
        if (p.kind == task_kind::load) {
            --j.loads_in_flight;
            if (failure.empty()) {
                j.loaded[p.segment] = true;
                if (j.hit[p.segment] != nullptr) {
                    ++hits_;
                } else {
                    bytes_read_ += segs[p.segment].raw_bytes;
                    shrink(j, 2 * segs[p.segment].raw_bytes);
                }
            }
        } else if (p.kind == task_kind::exec) {
            j.exec_in_flight = false;
            if (j.hit[p.segment] != nullptr) {
                j.hit[p.segment]->busy = false;
                if (failure.empty()) {
                    shrink(j, j.net->in_bytes(p.segment));
                    ++j.next_exec;
                }
                unpin(j, p.segment);
            } else if (failure.empty()) {
                shrink(j,
                       segs[p.segment].resident() - segs[p.segment].out_bytes + j.net->in_bytes(p.segment));
                keep_or_free(j, p.segment);
                ++j.next_exec;
            }
        } else if (failure.empty()) {
            j.init_done = true;
        }
        if (!failure.empty() && !j.failed) {
            j.failed = true;
            j.result.error = failure;
        }
        const bool complete = j.next_exec == segs.size();
        if ((complete || j.failed) && j.in_flight == 0) {
            if (!j.failed) j.result.output = std::move(j.outs.back());
            for (std::size_t s = 0; s < j.hit.size(); ++s) unpin(j, s);
            j.compiled.clear();
            j.outs.clear();
            j.input = tensor<float>();
            held_ -= j.held;
            j.held = 0;
            budget_.release(j.charge);
            j.charge = 0;
            j.result.finish_s = now();
            j.finished = true;
        }
    }

    void work(int w) {
        std::unique_lock lock(mutex_);
        while (true) {
            bool all_done = true;
            double next_arrival = -1;
            const double t = now();
            for (const auto& j : jobs_) {
                if (j->finished) continue;
                all_done = false;
                if (j->result.arrival_s > t && (next_arrival < 0 || j->result.arrival_s < next_arrival))
                    next_arrival = j->result.arrival_s;
            }
            if (all_done) {
                wake_.notify_all();
                return;
            }
            if (const auto p = choose(w, t)) {
                start(*p);
                const std::size_t rec = trace_.size();
                trace_.push_back({p->j->result.request, p->kind, p->segment, w, now(), 0,
                                  p->kind == task_kind::load && p->j->hit[p->segment] != nullptr});
                lock.unlock();
                const std::string failure = execute(*p);
                lock.lock();
                trace_[rec].end_s = now();
                finish(*p, failure);
                wake_.notify_all();
                continue;
            }
            // Cannot happen by the admission rule; a bug must not hang the caller.
            if (next_arrival < 0 && no_task_in_flight() && !stall()) continue;
            if (next_arrival >= 0)
                wake_.wait_until(lock,
                                 start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                              std::chrono::duration<double>(next_arrival)));
            else
                wake_.wait(lock);
        }
    }

    [[nodiscard]] bool no_task_in_flight() const {
        for (const auto& j : jobs_)
            if (j->in_flight > 0) return false;
        return true;
    }
    /// Nothing runs and this worker can start nothing: true (wait) when another worker can, else
    /// fails every unfinished request and returns false.
    bool stall() {
        for (int w = 0; w < options_.workers; ++w)
            if (choose(w, now())) {
                wake_.notify_all();
                return true;
            }
        for (auto& j : jobs_) {
            if (j->finished) continue;
            j->failed = true;
            j->result.error = "masa::runtime: no task of request " + std::to_string(j->order) +
                              " could start (scheduler stall)";
            for (std::size_t s = 0; s < j->hit.size(); ++s) unpin(*j, s);
            held_ -= j->held;
            if (j->charge > 0) budget_.release(j->charge);
            j->held = j->charge = 0;
            j->finished = true;
        }
        return false;
    }

    std::vector<const network*> networks_;
    run_options options_;
    memory_budget budget_;
    std::vector<std::unique_ptr<job>> jobs_;
    std::vector<task_record> trace_;
    std::uint64_t bytes_read_ = 0;
    std::uint64_t held_ = 0;
    std::uint64_t peak_held_ = 0;
    /// masa-stem: the shared segments (sorted), the resident copies and their bytes.
    std::vector<segment_key> shared_;
    std::map<segment_key, resident_segment> resident_;
    std::uint64_t resident_bytes_ = 0;
    std::uint64_t peak_resident_ = 0;
    std::uint64_t use_clock_ = 0;
    std::size_t hits_ = 0;
    std::size_t evictions_ = 0;
    std::chrono::steady_clock::time_point start_;
    std::mutex mutex_;
    std::condition_variable wake_;
};

/// The result of `input` on `net` alone: mode linear, one worker, no budget. What a scheduled
/// run's results must equal bit for bit (every segment compiles to the same primitives with the
/// same thread count, whatever runs beside it).
[[nodiscard]] inline tensor<float> solo_run(const network& net, const tensor<float>& input) {
    runtime solo({&net}, {.run_mode = mode::linear, .workers = 1});
    std::vector<request> one;
    one.push_back({.network = 0, .arrival_s = 0, .input = input});
    run_report report = solo.run(std::move(one));
    if (!report.results[0].ok()) throw error("masa::solo_run '" + net.name() + "'", report.results[0].error);
    return std::move(report.results[0].output);
}

}  // namespace stemshare::masa
