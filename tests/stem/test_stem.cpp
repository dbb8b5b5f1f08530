// Stem trie: fingerprints, cutting at branch points, automatic sharing, random insert/remove
// sequences, bad input, and the compile-time structural prefix.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <stemshare/stem/cut_model.hpp>
#include <stemshare/stem/fingerprint.hpp>
#include <stemshare/stem/stem_trie.hpp>
#include <stemshare/stem/structural_prefix.hpp>

#include "../support/error_of.hpp"
#include "stem_test_models.hpp"

namespace {

using namespace stemshare;
using stem::stem_trie;
namespace models = stemshare::test_models;

std::set<stem::fingerprint> node_fingerprints(const stem_trie& t) {
    std::set<stem::fingerprint> out;
    for (const auto& [id, n] : t.nodes())
        if (id != stem_trie::root) out.insert(n.seg.id);
    return out;
}

/// Everything observable about a trie, to check that a failed call changed nothing.
struct trie_state {
    std::set<stem::fingerprint> nodes;
    std::map<std::string, std::vector<stem::node_id>> paths;
    std::map<stem::node_id, std::size_t> counts;
    friend bool operator==(const trie_state&, const trie_state&) = default;
};
trie_state state_of(const stem_trie& t) {
    trie_state s{node_fingerprints(t), {}, {}};
    for (const auto& [name, a] : t.apps()) s.paths[name] = a.path;
    for (const auto& [id, n] : t.nodes()) s.counts[id] = n.apps;
    return s;
}

using test::error_of;

}  // namespace

TEST_CASE("fingerprint: bytes fed in pieces hash like bytes fed at once, and one flipped bit changes it") {
    std::vector<unsigned char> data(1000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>(i * 37 + 11);
    const stem::fingerprint whole = stem::hasher{}.bytes(data.data(), data.size()).finish();
    for (std::size_t split :
         {std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{13}, std::size_t{999}}) {
        stem::hasher h;
        h.bytes(data.data(), split).bytes(data.data() + split, data.size() - split);
        CHECK(h.finish() == whole);
    }
    data[500] ^= 0x10U;
    CHECK(stem::hasher{}.bytes(data.data(), data.size()).finish() != whole);
    // Trailing zero bytes are not ignored: the length is part of the hash.
    const unsigned char zeros[2] = {0, 0};
    CHECK(stem::hasher{}.bytes(zeros, 1).finish() != stem::hasher{}.bytes(zeros, 2).finish());
    CHECK(stem::to_string(whole).size() == 32);
}

TEST_CASE("fingerprint: equal weights on different input shapes never match") {
    // A dense layer's weights are {out, c*h*w}: the same bytes fit {8, 2, 2} and {32, 1, 1}.
    graph a(shape{8, 2, 2});
    graph b(shape{32, 1, 1});
    a.add("fc", dense_spec{.out_features = 4});
    b.add("fc", dense_spec{.out_features = 4});
    a.bind_random(5);
    b.bind(0, a.nodes()[0].params);
    REQUIRE(a.nodes()[0].params[0].extents() == b.nodes()[0].params[0].extents());
    const stem::fingerprint parent{1, 2};
    CHECK(stem::fingerprint_of(a, parent) != stem::fingerprint_of(b, parent));
    CHECK_FALSE(stem::same_segment(a, b));
    // Same segment after another prefix: another fingerprint (the whole prefix is identified).
    CHECK(stem::fingerprint_of(a, parent) != stem::fingerprint_of(a, stem::fingerprint{1, 3}));
    CHECK(stem::fingerprint_of(a, parent) == stem::fingerprint_of(a, parent));
}

TEST_CASE("fingerprint: a batch-norm epsilon one float step away changes it") {
    graph a(shape{4, 2, 2});
    graph b(shape{4, 2, 2});
    a.add("bn", batch_norm_spec{.epsilon = 1e-5F});
    b.add("bn", batch_norm_spec{.epsilon = 1.0000001e-5F});
    // describe() used to print both as 0.000010 (and so keyed one oneDNN primitive for both); it
    // now prints epsilon exactly, and the fingerprint hashes its bits besides.
    CHECK(describe(a.nodes()[0].spec) != describe(b.nodes()[0].spec));
    a.bind_random(3);
    b.bind(0, a.nodes()[0].params);
    CHECK(stem::fingerprint_of(a, {}) != stem::fingerprint_of(b, {}));
}

TEST_CASE("fingerprint: a conv's dilation changes it, the text of an undilated conv is as before") {
    graph a(shape{4, 9, 9});
    graph b(shape{4, 9, 9});
    a.add("conv", conv2d_spec{.out_channels = 4, .kernel = 3, .padding = 2, .dilation = 2});
    b.add("conv", conv2d_spec{.out_channels = 4, .kernel = 3, .padding = 2, .dilation = {2, 1}});
    a.bind_random(3);
    b.bind(0, a.nodes()[0].params);  // same weight shapes: dilation leaves them alone
    CHECK(stem::fingerprint_of(a, {}) != stem::fingerprint_of(b, {}));
    CHECK_FALSE(stem::same_segment(a, b));
    CHECK(describe(a.nodes()[0].spec) == "conv2d(out=4,k=3x3,s=1x1,p=(2,2,2,2),d=2x2,g=1,bias=1)");
    // Stem fingerprints and primitive cache keys of models saved before dilation existed stay valid.
    CHECK(describe(conv2d_spec{.out_channels = 4, .kernel = 3}) ==
          "conv2d(out=4,k=3x3,s=1x1,p=(0,0,0,0),g=1,bias=1)");
}

TEST_CASE("cut_model: segments end at the prefix's cut points, a residual block is one segment") {
    const graph base = models::base_model(1);
    const stem::cut_model m = stem::cut(base, 11, "app 'x'");
    // Folded prefix: conv(+bn), relu | conv, relu, conv, add | relu | conv(+bn), relu.
    REQUIRE(m.prefix.size() == 6);
    const std::vector<std::size_t> sizes{1, 1, 4, 1, 1, 1};
    const std::vector<std::size_t> ends{2, 3, 7, 8, 10, 11};
    for (std::size_t i = 0; i < m.prefix.size(); ++i) {
        CHECK(m.prefix[i].layers->size() == sizes[i]);
        CHECK(m.prefix[i].layer_end == ends[i]);
    }
    CHECK(m.suffix->size() == 3);
    CHECK(m.num_frozen == 11);
    // Batch-norms are folded: no segment holds one.
    for (const auto& s : m.prefix)
        for (const node& n : s.layers->nodes()) CHECK_FALSE(std::holds_alternative<batch_norm_spec>(n.spec));
    std::int64_t flops = 0;
    for (const auto& s : m.prefix) flops += s.flops;
    CHECK(flops == base.slice(0, 11).flops());
}

TEST_CASE("stem_trie: identical frozen prefixes share one node") {
    const graph base = models::base_model(1);
    stem_trie trie(shape{3, 16, 16});
    trie.insert("a", models::fine_tuned(base, 11, 100), 11);
    const std::size_t nodes_one_app = trie.node_count();
    trie.insert("b", models::fine_tuned(base, 11, 200), 11);
    trie.insert("c", models::fine_tuned(base, 11, 300), 11);
    CHECK(trie.node_count() == nodes_one_app);
    CHECK(trie.app("a").path == trie.app("b").path);
    CHECK(trie.app("a").path == trie.app("c").path);
    CHECK(trie.shared_layers("a", "c") == 11);
    for (stem::node_id id : trie.app("a").path) CHECK(trie.node(id).apps == 3);
    // Suffixes are the apps' own.
    CHECK(trie.app("a").suffix != trie.app("b").suffix);

    const stem::sharing_report r = trie.report();
    const graph folded_stem = fold_batch_norms(base.slice(0, 11));
    CHECK(r.apps == 3);
    CHECK(r.nodes == nodes_one_app);
    CHECK(r.shared_nodes == nodes_one_app);
    CHECK(r.stem_flops == folded_stem.flops());
    CHECK(r.flops_saved == 2 * folded_stem.flops());
    CHECK(r.stem_bytes == folded_stem.param_count() * 4);
    CHECK(r.bytes_saved == 2 * folded_stem.param_count() * 4);
    CHECK(r.suffix_flops == 3 * base.slice(11, models::base_layers).flops());
    trie.check_consistency(/*rehash=*/true);
}

TEST_CASE("stem_trie: apps at different depths share the common part and branch below") {
    const graph base = models::base_model(1);
    stem_trie trie(shape{3, 16, 16});
    trie.insert("deep", models::fine_tuned(base, 11, 100), 11);
    trie.insert("shallow", models::fine_tuned(base, 3, 200), 3);
    trie.insert("none", models::fine_tuned(base, 0, 300), 0);
    CHECK(trie.shared_layers("deep", "shallow") == 3);
    CHECK(trie.shared_layers("deep", "none") == 0);
    CHECK(trie.app("none").path.empty());
    CHECK(trie.app("none").branch_node() == stem_trie::root);
    // "shallow"'s layer 3 is its own (fine-tuned), so it does not continue along "deep"'s path.
    CHECK(trie.node_count() == trie.app("deep").path.size());
    trie.check_consistency(true);
}

TEST_CASE("stem_trie: one changed frozen weight branches exactly at its segment") {
    const graph base = models::base_model(1);
    stem_trie trie(shape{3, 16, 16});
    trie.insert("a", models::fine_tuned(base, 11, 100), 11);
    // Layer 5 (second conv of the residual body) is in the third segment [3, 7).
    trie.insert("b", models::with_changed_weight(models::fine_tuned(base, 11, 200), 5), 11);
    CHECK(trie.shared_layers("a", "b") == 3);
    const auto& pa = trie.app("a").path;
    const auto& pb = trie.app("b").path;
    CHECK(pa[0] == pb[0]);
    CHECK(pa[1] == pb[1]);
    for (std::size_t i = 2; i < pa.size(); ++i) CHECK(pa[i] != pb[i]);
    CHECK(trie.node_count() == 2 + 2 * (pa.size() - 2));

    // A change in the very first layer: nothing shared.
    trie.insert("c", models::with_changed_weight(models::fine_tuned(base, 11, 300), 0, 17), 11);
    CHECK(trie.shared_layers("a", "c") == 0);
    trie.check_consistency(true);
}

TEST_CASE("stem_trie: layer names and declared branch points do not affect sharing") {
    const graph base = models::base_model(1);
    stem_trie trie(shape{3, 16, 16});
    trie.insert("chain", models::fine_tuned(base, 8, 100), 8);
    trie.insert("file", models::renamed_undeclared(models::fine_tuned(base, 8, 200)), 8);
    CHECK(trie.app("chain").path == trie.app("file").path);
    CHECK(trie.shared_layers("chain", "file") == 8);
    // Without declared branch points every cut point is allowed, e.g. inside a declared block.
    trie.insert("file2", models::renamed_undeclared(models::fine_tuned(base, 1, 300)), 1);
    CHECK(trie.shared_layers("chain", "file2") == 0);  // layer 1 (batch-norm) differs: folded vs not
    trie.check_consistency(true);
}

TEST_CASE("stem_trie: bad input gives a clear error and leaves the trie unchanged") {
    const graph base = models::base_model(1);
    stem_trie trie(shape{3, 16, 16});
    trie.insert("a", models::fine_tuned(base, 11, 100), 11);
    trie.insert("b", models::fine_tuned(base, 7, 200), 7);
    const trie_state before = state_of(trie);

    // Input shape differs from the stream's.
    graph other = models::strided_net.to_graph();
    graph wrong_input(shape{1, 16, 16});
    wrong_input.add("conv", conv2d_spec{.out_channels = 4, .kernel = 3, .padding = 1});
    wrong_input.add("fc", dense_spec{.out_features = 2});
    wrong_input.bind_random(4);
    std::string msg = error_of([&] { trie.insert("gray", wrong_input, 1); });
    CHECK(msg.find("app 'gray'") != std::string::npos);
    CHECK(msg.find("[1x16x16]") != std::string::npos);
    CHECK(msg.find("[3x16x16]") != std::string::npos);
    CHECK(state_of(trie) == before);

    // Branch point past the model, at its very end, and inside a residual block.
    msg = error_of([&] { trie.insert("c", base, 15); });
    CHECK(msg.find("app 'c'") != std::string::npos);
    CHECK(msg.find("outside the model") != std::string::npos);
    msg = error_of([&] { trie.insert("c", base, 14); });
    CHECK(msg.find("outside the model") != std::string::npos);
    msg = error_of([&] { trie.insert("c", base, 5); });
    CHECK(msg.find("not a branch point") != std::string::npos);
    CHECK(msg.find("0, 3, 7, 8, 11, 12, 13") != std::string::npos);
    CHECK(state_of(trie) == before);

    // Unbound weights, duplicate and empty names, unknown app.
    msg = error_of([&] { trie.insert("c", other, 3); });
    CHECK(msg.find("has no weights bound") != std::string::npos);
    msg = error_of([&] { trie.insert("a", base, 3); });
    CHECK(msg.find("app 'a'") != std::string::npos);
    CHECK(msg.find("already deployed") != std::string::npos);
    CHECK(error_of([&] { trie.insert("", base, 3); }).find("non-empty name") != std::string::npos);
    msg = error_of([&] { trie.remove("zebra"); });
    CHECK(msg.find("app 'zebra'") != std::string::npos);
    CHECK(msg.find("deployed: a, b") != std::string::npos);
    CHECK(state_of(trie) == before);
    trie.check_consistency(true);
}

TEST_CASE("stem_trie: random insert/remove sequences keep it consistent and free exactly the unused nodes") {
    const graph base1 = models::base_model(1);
    const graph base2 = models::base_model(2);
    // A pool of candidate apps: two bases, several depths, some with one weight changed.
    struct candidate {
        graph model;
        std::size_t k;
    };
    std::vector<candidate> pool;
    const std::vector<std::size_t> depths{0, 3, 7, 8, 11, 12, 13};
    std::uint64_t seed = 1000;
    for (const graph* base : {&base1, &base2})
        for (std::size_t k : depths) pool.push_back({models::fine_tuned(*base, k, seed++), k});
    pool.push_back({models::with_changed_weight(models::fine_tuned(base1, 11, seed++), 9), 11});
    pool.push_back({models::with_changed_weight(models::fine_tuned(base1, 8, seed++), 3, 3), 8});
    // Expected fingerprints of each candidate's prefix, computed independently of the trie.
    std::vector<std::vector<stem::fingerprint>> prefix_ids;
    for (const auto& c : pool) {
        std::vector<stem::fingerprint> ids;
        for (const auto& s : stem::cut(c.model, c.k, "pool").prefix) ids.push_back(s.id);
        prefix_ids.push_back(ids);
    }

    for (std::uint32_t trial = 0; trial < 20; ++trial) {
        std::mt19937 rng(trial);
        stem_trie trie(shape{3, 16, 16});
        std::map<std::string, std::size_t> deployed;  // name -> pool index
        for (int op = 0; op < 60; ++op) {
            const bool insert = deployed.empty() || (deployed.size() < 8 && rng() % 3 != 0);
            if (insert) {
                const std::size_t pick = rng() % pool.size();
                const std::string name = "app" + std::to_string(op);
                trie.insert(name, pool[pick].model, pool[pick].k);
                deployed[name] = pick;
            } else {
                auto it = deployed.begin();
                std::advance(it, static_cast<std::ptrdiff_t>(rng() % deployed.size()));
                trie.remove(it->first);
                deployed.erase(it);
            }
            trie.check_consistency(op % 20 == 0);
            std::set<stem::fingerprint> expected;
            for (const auto& [name, pick] : deployed)
                expected.insert(prefix_ids[pick].begin(), prefix_ids[pick].end());
            REQUIRE(node_fingerprints(trie) == expected);
            REQUIRE(trie.node_count() == expected.size());
            REQUIRE(trie.apps().size() == deployed.size());
        }
        while (!deployed.empty()) {
            trie.remove(deployed.begin()->first);
            deployed.erase(deployed.begin());
        }
        CHECK(trie.node_count() == 0);
        CHECK(trie.node(stem_trie::root).children.empty());
    }
}

TEST_CASE("structural_prefix: computed at compile time and confirmed by the trie's fingerprints") {
    static_assert(stem::structural_prefix(models::base_net, models::base_net) == models::base_layers);
    static_assert(stem::structural_prefix(models::base_net, models::three_class_net) == 13);
    static_assert(stem::structural_prefix(models::base_net, models::strided_net) == 0);
    static_assert(stem::structural_prefix(models::base_net, input<3, 8, 8> | layers::relu) == 0);

    // Same frozen weights, each app at the deepest branch point it can take.
    const graph base = models::base_model(1);
    graph three = models::three_class_net.to_graph();
    three.bind_random(9);
    for (std::size_t i = 0; i < 13; ++i) three.bind(i, base.nodes()[i].params);
    stem_trie trie(shape{3, 16, 16});
    trie.insert("four", models::fine_tuned(base, 13, 5), 13);
    trie.insert("three", three, 13);
    CHECK(trie.shared_layers("four", "three") ==
          stem::structural_prefix(models::base_net, models::three_class_net));
}
