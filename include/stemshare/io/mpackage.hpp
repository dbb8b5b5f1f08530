#pragma once
/// \file
/// M-Package: one app's candidate set (Mainstream's M-Trainer output) as a folder.
///
///     <folder>/manifest.json              what is below, schema_version 1
///     <folder>/base.safetensors           the base model's weights, stored once
///     <folder>/candidate_<k>.safetensors  per candidate: only layers k.. (its specialised suffix)
///
/// A candidate with k frozen layers runs the base model's layers [0, k) (the stem other apps
/// can share) and its own layers [k, end). The manifest records the schema version, the app, the
/// base model's id, digest (io::weights_digest) and layer count, the architecture name, the
/// branch points, and per candidate the number of frozen layers, its per-frame true- and
/// false-positive rates on the validation set and its weights file.
///
/// Manifest keys and fields: a candidate's `accuracy` is `true_positive_rate` (the key of the
/// committed packages, kept); `base_model.id`, `.digest`, `.weights` and `.layers` are `base_model_id`,
/// `base_digest`, `base_weights` and `base_layers`; every other key is the field's name.
///
/// `write_mpackage` checks that each candidate really keeps its first k layers equal to the base;
/// `mpackage::read` checks every manifest field, the schema version, that every file exists and
/// that the base weights match the recorded digest, and names the field or file at fault.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/io/atomic_file.hpp>
#include <stemshare/io/bind_weights.hpp>
#include <stemshare/io/json_file.hpp>
#include <stemshare/io/safetensors.hpp>
#include <stemshare/io/weights_digest.hpp>

namespace stemshare::io {

inline constexpr int mpackage_schema_version = 1;

struct mpackage_candidate {
    /// Layers [0, num_frozen) are the base model's (shared stem).
    std::size_t num_frozen = 0;
    /// Per-frame true-positive rate on the validation set, in [0, 1] (manifest key `accuracy`).
    double true_positive_rate = 0;
    /// Per-frame false-positive rate on the validation set, in [0, 1].
    double false_positive_rate = 0;
    /// Suffix weights file, relative to the package folder.
    std::string weights;
    friend bool operator==(const mpackage_candidate&, const mpackage_candidate&) = default;
};

struct mpackage_manifest {
    int schema_version = mpackage_schema_version;
    std::string app;
    std::string base_model_id;
    /// "sha256:<hex>", io::weights_digest of the base weights.
    std::string base_digest;
    std::string base_weights = "base.safetensors";
    std::size_t base_layers = 0;
    std::string architecture;
    std::vector<std::size_t> branch_points;
    std::vector<mpackage_candidate> candidates;
    friend bool operator==(const mpackage_manifest&, const mpackage_manifest&) = default;
};

/// A fine-tuned model for `write_mpackage`: the whole graph, of which only layers
/// [num_frozen, end) are stored.
struct mpackage_candidate_model {
    std::size_t num_frozen = 0;
    double true_positive_rate = 0;
    double false_positive_rate = 0;
    const graph* model = nullptr;
};

namespace detail {
inline std::vector<named_view> layer_tensors(const graph& g, std::size_t first, std::size_t last) {
    std::vector<named_view> out;
    for (std::size_t i = first; i < last; ++i) {
        const node& n = g.at(i);
        const param_list descs = n.param_descs();
        for (std::size_t p = 0; p < descs.size(); ++p)
            out.push_back({n.name + "." + std::string(descs[p].name), n.params[p].view()});
    }
    return out;
}

inline nlohmann::ordered_json to_json(const mpackage_manifest& m) {
    nlohmann::ordered_json j;
    j["format"] = "stemshare.mpackage";
    j["schema_version"] = m.schema_version;
    j["app"] = m.app;
    j["base_model"] = {{"id", m.base_model_id},
                       {"digest", m.base_digest},
                       {"weights", m.base_weights},
                       {"layers", m.base_layers}};
    j["architecture"] = m.architecture;
    j["branch_points"] = m.branch_points;
    j["candidates"] = nlohmann::ordered_json::array();
    for (const auto& c : m.candidates)
        j["candidates"].push_back({{"num_frozen", c.num_frozen},
                                   {"accuracy", c.true_positive_rate},
                                   {"false_positive_rate", c.false_positive_rate},
                                   {"weights", c.weights}});
    return j;
}

/// Reads manifest fields with errors that name the field's path ("candidates[2].accuracy").
class manifest_reader {
public:
    explicit manifest_reader(std::string where) : where_(std::move(where)) {}

    const nlohmann::json& field(const nlohmann::json& obj, const std::string& path, const char* key) const {
        if (!obj.is_object()) throw error(where_, "'" + path + "' must be an object");
        if (!obj.contains(key)) throw error(where_, "missing field '" + join(path, key) + "'");
        return obj[key];
    }
    std::string string(const nlohmann::json& obj, const std::string& path, const char* key) const {
        const auto& v = field(obj, path, key);
        if (!v.is_string()) throw error(where_, "field '" + join(path, key) + "' must be a string");
        return v.get<std::string>();
    }
    std::size_t count(const nlohmann::json& obj, const std::string& path, const char* key) const {
        const auto& v = field(obj, path, key);
        if (!v.is_number_unsigned())
            throw error(where_, "field '" + join(path, key) + "' must be a non-negative integer");
        return v.get<std::size_t>();
    }
    double rate(const nlohmann::json& obj, const std::string& path, const char* key) const {
        const auto& v = field(obj, path, key);
        if (!v.is_number() || !(v.get<double>() >= 0.0 && v.get<double>() <= 1.0))
            throw error(where_, "field '" + join(path, key) + "' must be a number in [0, 1]");
        return v.get<double>();
    }
    static std::string join(const std::string& path, const char* key) {
        return path.empty() ? key : path + "." + key;
    }

private:
    std::string where_;
};

/// A manifest file name must stay inside the package (no absolute path, no "..").
inline void check_relative(const std::string& where, const std::string& field, const std::string& file) {
    const std::filesystem::path p(file);
    if (file.empty() || p.is_absolute() ||
        std::any_of(p.begin(), p.end(), [](const auto& part) { return part == ".."; }))
        throw error(where,
                    "field '" + field + "' = '" + file + "' must be a file name inside the package folder");
}
}  // namespace detail

/// Writes an M-Package to `folder` (created if needed; existing package files are replaced).
/// `base` is the bound base model; every candidate's model must have the base's layers and keep
/// layers [0, num_frozen) bit-identical to it, and num_frozen must be a branch point of `base`.
/// `suffix_storage` is the element type of the candidates' files (the base is always f32, so its
/// digest and the stems other apps share stay exact); with f16 or bf16 the caller should measure
/// the candidates' rates with weights already rounded to that type, so the manifest describes
/// what a reader loads.
inline mpackage_manifest write_mpackage(const std::filesystem::path& folder, const std::string& app,
                                        const std::string& base_model_id, const std::string& architecture,
                                        const graph& base,
                                        std::span<const mpackage_candidate_model> candidates,
                                        storage_dtype suffix_storage = storage_dtype::f32) {
    const std::string where = "M-Package '" + folder.string() + "'";
    if (!base.is_bound()) throw error(where, "the base model has unbound layers");
    mpackage_manifest m;
    m.app = app;
    m.base_model_id = base_model_id;
    m.architecture = architecture;
    m.base_layers = base.size();
    m.branch_points = base.branch_points();
    m.base_digest = weights_digest(base);

    for (std::size_t ci = 0; ci < candidates.size(); ++ci) {
        const auto& c = candidates[ci];
        const std::string who = where + ": candidate " + std::to_string(ci) + " (num_frozen " +
                                std::to_string(c.num_frozen) + ")";
        if (c.model == nullptr || !c.model->is_bound()) throw error(who, "has no bound model");
        if (std::find(m.branch_points.begin(), m.branch_points.end(), c.num_frozen) == m.branch_points.end())
            throw error(who, "num_frozen is not a branch point of the base model");
        if (!(c.true_positive_rate >= 0 && c.true_positive_rate <= 1) ||
            !(c.false_positive_rate >= 0 && c.false_positive_rate <= 1))
            throw error(who, "true_positive_rate and false_positive_rate must be in [0, 1]");
        const graph& g = *c.model;
        if (g.size() != base.size())
            throw error(
                who, "has " + std::to_string(g.size()) + " layers, the base " + std::to_string(base.size()));
        for (std::size_t i = 0; i < g.size(); ++i) {
            const node& a = g.at(i);
            const node& b = base.at(i);
            if (a.name != b.name || a.spec != b.spec || a.inputs != b.inputs)
                throw error(who, "layer " + std::to_string(i) + " '" + a.name +
                                     "' differs in structure from the base's '" + b.name + "'");
            if (i < c.num_frozen)
                for (std::size_t p = 0; p < a.params.size(); ++p)
                    if (!std::equal(a.params[p].values().begin(), a.params[p].values().end(),
                                    b.params[p].values().begin()))
                        throw error(who, "frozen layer '" + a.name +
                                             "' has weights that differ from the base model's");
        }
        for (const auto& other : m.candidates)
            if (other.num_frozen == c.num_frozen)
                throw error(who, "a candidate with the same num_frozen is already in the package");
        m.candidates.push_back({c.num_frozen, c.true_positive_rate, c.false_positive_rate,
                                "candidate_" + std::to_string(c.num_frozen) + ".safetensors"});
    }

    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec) throw error(where, "cannot create the folder: " + ec.message());
    // The base file names no app, so the packages of one base hold byte-identical copies of it
    // (stored once by git or any deduplicating store).
    const safetensors_write_options base_meta{.storage = storage_dtype::f32,
                                              .metadata = {{"stemshare.base_model", base_model_id}}};
    const auto base_tensors = detail::layer_tensors(base, 0, base.size());
    write_safetensors(folder / m.base_weights, base_tensors, base_meta);
    const safetensors_write_options suffix_meta{
        .storage = suffix_storage,
        .metadata = {{"stemshare.app", app}, {"stemshare.base_model", base_model_id}}};
    for (std::size_t ci = 0; ci < candidates.size(); ++ci) {
        const auto suffix =
            detail::layer_tensors(*candidates[ci].model, candidates[ci].num_frozen, base.size());
        write_safetensors(folder / m.candidates[ci].weights, suffix, suffix_meta);
    }
    // The manifest last: until it is renamed into place a reader sees the old package's manifest.
    write_file_atomically(folder / "manifest.json", detail::to_json(m).dump(2) + '\n', where + ": manifest.json");
    return m;
}

/// A validated M-Package on disk.
class mpackage {
public:
    /// Reads and validates `folder`. Throws `stemshare::error` naming the manifest field or file.
    [[nodiscard]] static mpackage read(const std::filesystem::path& folder) {
        mpackage p;
        p.folder_ = folder;
        const std::filesystem::path file = folder / "manifest.json";
        const std::string where = "M-Package '" + folder.string() + "': manifest.json";
        if (!std::filesystem::exists(file))
            throw error("M-Package '" + folder.string() + "'", "has no manifest.json");
        const nlohmann::json j = read_json_file(file, "the manifest");
        const detail::manifest_reader r(where);
        if (!j.is_object()) throw error(where, "must be a JSON object");
        const auto& version = r.field(j, "", "schema_version");
        if (!version.is_number_integer()) throw error(where, "field 'schema_version' must be an integer");
        if (version.get<std::int64_t>() != mpackage_schema_version)
            throw error(where, "schema_version " + version.dump() +
                                   " is not supported (this reader reads version " +
                                   std::to_string(mpackage_schema_version) + ")");
        mpackage_manifest& m = p.manifest_;
        m.schema_version = mpackage_schema_version;
        m.app = r.string(j, "", "app");
        const auto& base = r.field(j, "", "base_model");
        m.base_model_id = r.string(base, "base_model", "id");
        m.base_digest = r.string(base, "base_model", "digest");
        m.base_weights = r.string(base, "base_model", "weights");
        m.base_layers = r.count(base, "base_model", "layers");
        m.architecture = r.string(j, "", "architecture");
        const auto& points = r.field(j, "", "branch_points");
        if (!points.is_array()) throw error(where, "field 'branch_points' must be an array");
        for (std::size_t i = 0; i < points.size(); ++i) {
            if (!points[i].is_number_unsigned() || points[i].get<std::size_t>() > m.base_layers ||
                (i > 0 && points[i].get<std::size_t>() <= m.branch_points.back()))
                throw error(where, "field 'branch_points[" + std::to_string(i) +
                                       "]' must be an ascending layer count within base_model.layers");
            m.branch_points.push_back(points[i].get<std::size_t>());
        }
        const auto& cands = r.field(j, "", "candidates");
        if (!cands.is_array()) throw error(where, "field 'candidates' must be an array");
        for (std::size_t i = 0; i < cands.size(); ++i) {
            const std::string path = "candidates[" + std::to_string(i) + "]";
            mpackage_candidate c;
            c.num_frozen = r.count(cands[i], path, "num_frozen");
            if (std::find(m.branch_points.begin(), m.branch_points.end(), c.num_frozen) ==
                m.branch_points.end())
                throw error(where, "field '" + path + ".num_frozen' = " + std::to_string(c.num_frozen) +
                                       " is not a branch point");
            c.true_positive_rate = r.rate(cands[i], path, "accuracy");
            c.false_positive_rate = r.rate(cands[i], path, "false_positive_rate");
            c.weights = r.string(cands[i], path, "weights");
            detail::check_relative(where, path + ".weights", c.weights);
            m.candidates.push_back(std::move(c));
        }

        detail::check_relative(where, "base_model.weights", m.base_weights);
        auto require_file = [&](const std::string& field, const std::string& name) {
            if (!std::filesystem::is_regular_file(folder / name))
                throw error("M-Package '" + folder.string() + "'",
                            "file '" + name + "' (" + field + ") does not exist");
        };
        require_file("base_model.weights", m.base_weights);
        for (std::size_t i = 0; i < m.candidates.size(); ++i)
            require_file("candidates[" + std::to_string(i) + "].weights", m.candidates[i].weights);
        const std::string found = weights_digest(p.base_weights());
        if (found != m.base_digest)
            throw error("M-Package '" + folder.string() + "'",
                        "base weights '" + m.base_weights + "' have digest " + found +
                            ", the manifest's base_model.digest says " + m.base_digest);
        return p;
    }

    [[nodiscard]] const mpackage_manifest& manifest() const noexcept { return manifest_; }
    [[nodiscard]] const std::filesystem::path& folder() const noexcept { return folder_; }
    [[nodiscard]] safetensors_file base_weights() const {
        return safetensors_file(folder_ / manifest_.base_weights);
    }
    [[nodiscard]] safetensors_file candidate_weights(std::size_t i) const {
        return safetensors_file(folder_ / candidate(i).weights);
    }
    [[nodiscard]] const mpackage_candidate& candidate(std::size_t i) const {
        if (i >= manifest_.candidates.size())
            throw error("M-Package '" + folder_.string() + "'",
                        "has no candidate " + std::to_string(i) + " (it has " +
                            std::to_string(manifest_.candidates.size()) + ")");
        return manifest_.candidates[i];
    }

    /// The base model: `architecture` (an unbound graph with the package's layers, e.g. a chain's
    /// `to_graph()`) bound to the base weights.
    [[nodiscard]] graph base_model(graph architecture) const {
        check_architecture(architecture);
        bind_weights(architecture, base_weights(), {.require_all_used = true});
        return architecture;
    }
    /// Candidate i: layers [0, num_frozen) from the base weights, the rest from its own file.
    [[nodiscard]] graph candidate_model(std::size_t i, graph architecture) const {
        const mpackage_candidate& c = candidate(i);
        check_architecture(architecture);
        bind_weights(architecture, base_weights(), {.last_layer = c.num_frozen});
        bind_weights(architecture, candidate_weights(i),
                     {.first_layer = c.num_frozen, .require_all_used = true});
        return architecture;
    }

private:
    void check_architecture(const graph& g) const {
        if (g.size() != manifest_.base_layers)
            throw error("M-Package '" + folder_.string() + "'",
                        "the given architecture has " + std::to_string(g.size()) +
                            " layers, the package's base model (" + manifest_.architecture + ") has " +
                            std::to_string(manifest_.base_layers));
    }

    std::filesystem::path folder_;
    mpackage_manifest manifest_;
};

}  // namespace stemshare::io
