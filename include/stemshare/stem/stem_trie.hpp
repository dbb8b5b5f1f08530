#pragma once
/// \file
/// `stem_trie`: the prefix trie of the frozen parts of the deployed apps. Each node is one
/// segment of a frozen prefix (see cut_model.hpp for the granularity), identified by its
/// fingerprint; inserting an app walks the trie over its prefix segments and shares every node
/// whose fingerprint matches and whose weights are byte-identical, so apps fine-tuned from one
/// base with the same frozen depth share their whole stem without anyone declaring it. The
/// layers after an app's branch point are its own suffix and never enter the trie (the cost model
/// of docs/scheduler.md: apps that branch at the same k share only the stem below k).
///
/// Copying a trie is cheap (segments and suffixes are shared, immutable graphs): the runtime
/// edits a copy and only commits it once the new plan is built, so a failed change leaves the
/// running trie untouched.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/stem/cut_model.hpp>

namespace stemshare::stem {

using node_id = std::uint64_t;

/// One shared segment of the trie.
struct trie_node {
    node_id parent = 0;
    segment seg;
    std::vector<node_id> children;
    /// Number of apps whose frozen prefix runs through this node.
    std::size_t apps = 0;
};

/// One deployed app, as the trie knows it.
struct trie_app {
    std::string name;
    /// Branch point k: the first k layers are frozen (the shared prefix).
    std::size_t num_frozen = 0;
    std::size_t layer_count = 0;
    /// Trie nodes of the frozen prefix, root excluded, from the input down.
    std::vector<node_id> path;
    std::shared_ptr<const graph> suffix;
    /// Distinct for every insert, so a re-inserted app is never mistaken for its old self.
    std::uint64_t generation = 0;

    /// The node whose output the suffix reads (the root when nothing is frozen).
    [[nodiscard]] node_id branch_node() const noexcept { return path.empty() ? 0 : path.back(); }
};

/// What the trie shares, per frame when every app processes it.
struct sharing_report {
    std::size_t apps = 0;
    std::size_t nodes = 0;         ///< trie nodes, root excluded
    std::size_t shared_nodes = 0;  ///< nodes used by two or more apps
    std::int64_t stem_flops = 0;   ///< FLOPs of all trie nodes, each once
    std::int64_t suffix_flops = 0;
    std::int64_t flops_saved = 0;  ///< sum over nodes of (apps - 1) x node FLOPs
    std::int64_t stem_bytes = 0;   ///< weight bytes of all trie nodes, each once
    std::int64_t suffix_bytes = 0;
    std::int64_t bytes_saved = 0;  ///< sum over nodes of (apps - 1) x node weight bytes
};

class stem_trie {
public:
    static constexpr node_id root = 0;

    /// An empty trie for a stream whose frames have per-image shape `input`.
    explicit stem_trie(shape input) : input_(input) {
        if (input.empty())
            throw error("stem_trie", "stream input shape " + to_string(input) + " has a zero extent");
        trie_node r;
        r.seg.id = root_fingerprint(input);
        nodes_.emplace(root, std::move(r));
    }

    /// Inserts app `name` running `model` with its first `num_frozen` layers frozen. Throws
    /// `stemshare::error` naming the app, with the trie unchanged, when the name is empty or
    /// taken, the model's input is not the stream's, or the branch point is not usable
    /// (see `cut`). Returns the app as stored.
    const trie_app& insert(const std::string& name, const graph& model, std::size_t num_frozen) {
        const std::string who = "stem_trie: app '" + name + "'";
        if (name.empty()) throw error("stem_trie", "an app needs a non-empty name");
        if (apps_.count(name) != 0) throw error(who, "is already deployed (remove it first, or replace it)");
        if (model.input_shape() != input_)
            throw error(who, "model input " + to_string(model.input_shape()) +
                                 " does not match the stream's " + to_string(input_));
        return insert(name, cut(model, num_frozen, who));
    }

    /// Inserts an app from an already cut model (so a caller can cut outside a lock).
    const trie_app& insert(const std::string& name, cut_model m) {
        const std::string who = "stem_trie: app '" + name + "'";
        if (name.empty()) throw error("stem_trie", "an app needs a non-empty name");
        if (apps_.count(name) != 0) throw error(who, "is already deployed (remove it first, or replace it)");
        if (!m.prefix.empty() && m.prefix.front().layers->input_shape() != input_)
            throw error(who, "model input " + to_string(m.prefix.front().layers->input_shape()) +
                                 " does not match the stream's " + to_string(input_));
        if (m.prefix.empty() && m.suffix->input_shape() != input_)
            throw error(who, "model input " + to_string(m.suffix->input_shape()) +
                                 " does not match the stream's " + to_string(input_));

        // Everything that can fail is above; below only allocates.
        trie_app app;
        app.name = name;
        app.num_frozen = m.num_frozen;
        app.layer_count = m.layer_count;
        app.suffix = std::move(m.suffix);
        app.generation = ++generation_;
        node_id at = root;
        for (segment& s : m.prefix) {
            node_id next = matching_child(at, s);
            if (next == root) {
                next = next_id_++;
                trie_node n;
                n.parent = at;
                n.seg = std::move(s);
                nodes_.emplace(next, std::move(n));
                nodes_.at(at).children.push_back(next);
            }
            ++nodes_.at(next).apps;
            app.path.push_back(next);
            at = next;
        }
        return apps_.emplace(name, std::move(app)).first->second;
    }

    /// Removes app `name`, freeing the nodes no other app uses. Throws `stemshare::error`, with
    /// the trie unchanged, when no such app is deployed.
    void remove(std::string_view name) {
        const auto it = apps_.find(std::string(name));
        if (it == apps_.end())
            throw error("stem_trie: app '" + std::string(name) + "'", "is not deployed" + known_apps());
        const std::vector<node_id>& path = it->second.path;
        for (auto p = path.rbegin(); p != path.rend(); ++p) {
            trie_node& n = nodes_.at(*p);
            if (--n.apps > 0) continue;
            auto& siblings = nodes_.at(n.parent).children;
            siblings.erase(std::find(siblings.begin(), siblings.end(), *p));
            nodes_.erase(*p);
        }
        apps_.erase(it);
    }

    [[nodiscard]] shape input_shape() const noexcept { return input_; }
    [[nodiscard]] bool contains(std::string_view name) const { return apps_.count(std::string(name)) != 0; }
    [[nodiscard]] const trie_app& app(std::string_view name) const {
        const auto it = apps_.find(std::string(name));
        if (it == apps_.end())
            throw error("stem_trie: app '" + std::string(name) + "'", "is not deployed" + known_apps());
        return it->second;
    }
    /// Apps by name.
    [[nodiscard]] const std::map<std::string, trie_app, std::less<>>& apps() const noexcept { return apps_; }
    /// Nodes by id, the root (id 0, no layers) included.
    [[nodiscard]] const std::map<node_id, trie_node>& nodes() const noexcept { return nodes_; }
    [[nodiscard]] const trie_node& node(node_id id) const {
        const auto it = nodes_.find(id);
        if (it == nodes_.end()) throw error("stem_trie", "no node " + std::to_string(id));
        return it->second;
    }
    /// Trie nodes, root excluded.
    [[nodiscard]] std::size_t node_count() const noexcept { return nodes_.size() - 1; }

    /// Layers of the original models that apps `a` and `b` both run from one shared copy.
    [[nodiscard]] std::size_t shared_layers(std::string_view a, std::string_view b) const {
        const auto& pa = app(a).path;
        const auto& pb = app(b).path;
        std::size_t i = 0;
        while (i < pa.size() && i < pb.size() && pa[i] == pb[i]) ++i;
        return i == 0 ? 0 : nodes_.at(pa[i - 1]).seg.layer_end;
    }

    [[nodiscard]] sharing_report report() const {
        sharing_report r;
        r.apps = apps_.size();
        r.nodes = node_count();
        for (const auto& [id, n] : nodes_) {
            if (id == root) continue;
            if (n.apps > 1) ++r.shared_nodes;
            r.stem_flops += n.seg.flops;
            r.stem_bytes += n.seg.param_bytes;
            r.flops_saved += static_cast<std::int64_t>(n.apps - 1) * n.seg.flops;
            r.bytes_saved += static_cast<std::int64_t>(n.apps - 1) * n.seg.param_bytes;
        }
        for (const auto& [name, a] : apps_) {
            r.suffix_flops += a.suffix->flops();
            r.suffix_bytes += param_bytes(*a.suffix);
        }
        return r;
    }

    /// Checks every invariant (reference counts equal the apps through each node, parent and
    /// child links agree, no node is unreachable or unused, fingerprints chain); throws
    /// `stemshare::error` describing the first violation. `rehash` also recomputes every
    /// fingerprint from the weights (slow on big models).
    void check_consistency(bool rehash = false) const {
        const auto fail = [](const std::string& what) { throw error("stem_trie: inconsistent", what); };
        std::map<node_id, std::size_t> uses;
        for (const auto& [name, a] : apps_) {
            node_id parent = root;
            for (node_id id : a.path) {
                const auto it = nodes_.find(id);
                if (it == nodes_.end())
                    fail("app '" + name + "' runs through freed node " + std::to_string(id));
                if (it->second.parent != parent)
                    fail("app '" + name + "' path breaks at node " + std::to_string(id));
                ++uses[id];
                parent = id;
            }
        }
        for (const auto& [id, n] : nodes_) {
            if (id == root) {
                if (n.apps != 0 || n.seg.layers) fail("the root holds layers or a count");
                continue;
            }
            if (n.apps == 0) fail("node " + std::to_string(id) + " is used by no app and was not freed");
            if (uses[id] != n.apps)
                fail("node " + std::to_string(id) + " counts " + std::to_string(n.apps) + " apps, " +
                     std::to_string(uses[id]) + " run through it");
            const auto parent = nodes_.find(n.parent);
            if (parent == nodes_.end()) fail("node " + std::to_string(id) + " has a freed parent");
            const auto& siblings = parent->second.children;
            if (std::count(siblings.begin(), siblings.end(), id) != 1)
                fail("node " + std::to_string(id) + " is not listed once by its parent");
            if (rehash && fingerprint_of(*n.seg.layers, parent->second.seg.id) != n.seg.id)
                fail("node " + std::to_string(id) + " fingerprint does not match its weights");
        }
        for (const auto& [id, n] : nodes_)
            for (node_id c : n.children)
                if (nodes_.count(c) == 0 || nodes_.at(c).parent != id)
                    fail("node " + std::to_string(id) + " lists a child that is not its own");
        for (const auto& [id, n] : nodes_)
            for (std::size_t i = 0; i < n.children.size(); ++i)
                for (std::size_t j = i + 1; j < n.children.size(); ++j)
                    if (same_segment(*nodes_.at(n.children[i]).seg.layers,
                                     *nodes_.at(n.children[j]).seg.layers))
                        fail("node " + std::to_string(id) + " has two identical children");
    }

private:
    /// The child of `parent` holding exactly `s`, or `root` if none does.
    [[nodiscard]] node_id matching_child(node_id parent, const segment& s) const {
        for (node_id c : nodes_.at(parent).children) {
            const trie_node& n = nodes_.at(c);
            if (n.seg.id == s.id && same_segment(*n.seg.layers, *s.layers)) return c;
        }
        return root;
    }
    [[nodiscard]] std::string known_apps() const {
        if (apps_.empty()) return " (no apps are deployed)";
        std::string list;
        for (const auto& [name, a] : apps_) list += (list.empty() ? "" : ", ") + name;
        return " (deployed: " + list + ")";
    }

    shape input_;
    std::map<node_id, trie_node> nodes_;
    std::map<std::string, trie_app, std::less<>> apps_;
    node_id next_id_ = 1;
    std::uint64_t generation_ = 0;
};

}  // namespace stemshare::stem
