#pragma once
/// \file
/// `experiment::predict_stream`: every candidate of every app run once, offline, over every frame
/// of a stream. With these per-frame decisions, the measured event F1 of any plan is a replay away
/// (replay.hpp says which frames each app gets): the sweep over apps, policies and budgets never
/// runs a model again.
///
/// All apps must come from one base model (equal base digests in their M-Packages), so the stem
/// below each branch point is computed once per frame and fed to every candidate branching there,
/// as the runtime does.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/io/mpackage.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::experiment {

/// One candidate of one app over a whole stream.
struct candidate_decisions {
    std::size_t num_frozen = 0;
    /// The M-Package's per-frame rates on the validation set.
    double true_positive_rate = 0.0;
    double false_positive_rate = 0.0;
    /// positive[j]: the candidate flags stream frame j (its argmax is class 1).
    std::vector<bool> positive;
};

struct app_predictions {
    std::string app;
    std::vector<candidate_decisions> candidates;

    /// The candidate with `num_frozen` k; throws naming the app otherwise.
    [[nodiscard]] const candidate_decisions& at(std::size_t k) const {
        for (const auto& c : candidates)
            if (c.num_frozen == k) return c;
        throw error("app '" + app + "'", "has no candidate with num_frozen " + std::to_string(k));
    }
};

/// Runs every candidate of `packages` over `frames` {N, c, h, w}. `architecture` makes a fresh
/// graph of the packages' model for them to bind (e.g. `experiment::app_architecture`). `threads` is
/// oneDNN's thread count per primitive (0 = all cores).
template <class Architecture>
[[nodiscard]] std::vector<app_predictions> predict_stream(const std::vector<io::mpackage>& packages,
                                                          Architecture&& architecture,
                                                          const tensor<float>& frames, int threads = 1,
                                                          std::int64_t batch = 256) {
    const std::string who = "experiment::predict_stream";
    if (packages.empty()) throw error(who, "no M-Package given");
    for (const auto& p : packages)
        if (p.manifest().base_digest != packages.front().manifest().base_digest)
            throw error(who, "app '" + p.manifest().app + "' was trained from another base model (digest " +
                                 p.manifest().base_digest + ", '" + packages.front().manifest().app +
                                 "' has " + packages.front().manifest().base_digest +
                                 "); stems cannot be shared");
    const graph base = packages.front().base_model(architecture());
    const dims& d = frames.extents();
    const shape expected = base.input_shape();
    if (d.rank() != 4 || d[1] != expected.c || d[2] != expected.h || d[3] != expected.w) {
        std::string detail = "frames are " + to_string(d);
        detail += " but the base model takes {N, c, h, w} with c x h x w = " + to_string(expected);
        throw error(who, detail);
    }
    const std::int64_t count = d[0];
    batch = std::max<std::int64_t>(1, std::min(batch, count));

    struct suffix {
        std::size_t app = 0;
        std::size_t candidate = 0;
        std::unique_ptr<onednn::compiled_graph> compiled;
    };
    struct level {
        std::size_t k = 0;
        std::unique_ptr<onednn::compiled_graph> stem;  // layers from the previous level to k
        tensor<float> out;
        std::vector<suffix> suffixes;
    };
    std::vector<std::size_t> ks;
    for (const auto& p : packages)
        for (const auto& c : p.manifest().candidates) ks.push_back(c.num_frozen);
    std::sort(ks.begin(), ks.end());
    ks.erase(std::unique(ks.begin(), ks.end()), ks.end());

    const onednn::compile_options options{.batch = batch, .threads = threads};
    std::vector<level> levels;
    std::size_t previous = 0;
    for (std::size_t k : ks) {
        level l;
        l.k = k;
        if (k > previous) l.stem = std::make_unique<onednn::compiled_graph>(base.slice(previous, k), options);
        const shape at = k == 0 ? base.input_shape() : base.slice(0, k).output_shape();
        l.out = tensor<float>(dims{batch, at.c, at.h, at.w});
        levels.push_back(std::move(l));
        previous = k;
    }
    std::vector<app_predictions> result(packages.size());
    for (std::size_t a = 0; a < packages.size(); ++a) {
        const auto& m = packages[a].manifest();
        result[a].app = m.app;
        for (std::size_t c = 0; c < m.candidates.size(); ++c) {
            const auto& mc = m.candidates[c];
            const graph model = packages[a].candidate_model(c, architecture());
            auto lv = std::find_if(levels.begin(), levels.end(),
                                   [&](const level& l) { return l.k == mc.num_frozen; });
            lv->suffixes.push_back({a, c,
                                    std::make_unique<onednn::compiled_graph>(
                                        model.slice(mc.num_frozen, model.size()), options)});
            result[a].candidates.push_back({mc.num_frozen, mc.true_positive_rate, mc.false_positive_rate,
                                            std::vector<bool>(static_cast<std::size_t>(count), false)});
        }
    }

    const shape in = base.input_shape();
    const std::int64_t in_item = in.numel();
    tensor<float> src(dims{batch, in.c, in.h, in.w});
    tensor<float> scores(dims{batch, 2, 1, 1});
    for (std::int64_t start = 0; start < count; start += batch) {
        const std::int64_t n = std::min(batch, count - start);
        std::copy_n(frames.data() + start * in_item, n * in_item, src.data());
        std::fill(src.data() + n * in_item, src.data() + src.numel(), 0.0F);
        const tensor<float>* below = &src;
        for (level& l : levels) {
            if (l.stem) {
                l.stem->run(below->view(), l.out.view());
                below = &l.out;
            }
            for (suffix& s : l.suffixes) {
                const shape out = s.compiled->output_shape();
                if (out.numel() != 2)
                    throw error(who, "app '" + result[s.app].app +
                                         "': candidates must have two outputs (binary detectors)");
                s.compiled->run(below->view(), scores.view());
                auto& positive = result[s.app].candidates[s.candidate].positive;
                for (std::int64_t i = 0; i < n; ++i)
                    positive[static_cast<std::size_t>(start + i)] =
                        scores.data()[2 * i + 1] > scores.data()[2 * i];
            }
        }
    }
    return result;
}

}  // namespace stemshare::experiment
