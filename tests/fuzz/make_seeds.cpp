// Writes the fuzzers' seed corpora (tests/fuzz/corpus/<harness>/): small valid files made by the
// library's own writers and broken ones that each hit one refusal (truncated, a header claiming
// 10^12 elements, wrong magic, ...). Run from the repository root after a change to a format:
//     build-fuzz/tests/fuzz/make_seeds tests/fuzz/corpus
// The outputs are committed; the fuzzers only read them.

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <zlib.h>

#include <stemshare/io/mpackage.hpp>
#include <stemshare/io/safetensors.hpp>
#include <stemshare/tensor/tensor.hpp>

#include "fuzz_model.hpp"

namespace fs = std::filesystem;
using namespace stemshare;

namespace {

void put(const fs::path& path, const std::string& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw error(path.string(), "cannot write the seed");
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    if (!in) throw error(path.string(), "cannot read");
    return s.str();
}

std::string u64le(std::uint64_t v) {
    std::string s(8, '\0');
    std::memcpy(s.data(), &v, 8);
    return s;
}

std::string npy(const std::string& descr, const std::string& shape, std::size_t data_bytes) {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    header.append(63 - (10 + header.size()) % 64, ' ');
    header += '\n';
    std::string out = "\x93NUMPY\x01";
    out += '\0';
    out += static_cast<char>(header.size() & 0xFFU);
    out += static_cast<char>(header.size() >> 8U);
    out += header;
    for (std::size_t i = 0; i < data_bytes; ++i) out += static_cast<char>(i * 7 % 251);
    return out;
}

std::string idx(std::vector<std::uint32_t> extents, std::size_t data_bytes) {
    std::string out{'\0', '\0', '\x08', static_cast<char>(extents.size())};
    for (std::uint32_t e : extents)
        for (int b = 3; b >= 0; --b) out += static_cast<char>((e >> (8 * b)) & 0xFFU);
    for (std::size_t i = 0; i < data_bytes; ++i) out += static_cast<char>(i * 13 % 256);
    return out;
}

std::string gzip(const fs::path& scratch, const std::string& bytes) {
    gzFile f = gzopen(scratch.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
    return slurp(scratch);
}

std::string safetensors(const fs::path& scratch, io::storage_dtype storage) {
    tensor<float> a(dims{2, 3});
    tensor<float> b(dims{4});
    for (std::int64_t i = 0; i < a.numel(); ++i) a[i] = 0.25F * static_cast<float>(i) - 0.5F;
    for (std::int64_t i = 0; i < b.numel(); ++i) b[i] = static_cast<float>(i);
    const std::vector<io::named_view> tensors{{"layer.weight", a.view()}, {"layer.bias", b.view()}};
    io::write_safetensors(scratch, tensors, {.storage = storage, .metadata = {{"format", "pt"}}});
    return slurp(scratch);
}

std::string safetensors_raw(const std::string& header, std::size_t data_bytes) {
    return u64le(header.size()) + header + std::string(data_bytes, '\x01');
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc != 3) {
        std::cerr << "usage: make_seeds <corpus folder> <repository root>\n";
        return 2;
    }
    const fs::path corpus = argv[1];
    const fs::path root = argv[2];
    const fs::path scratch = fs::temp_directory_path() / "stemshare-make-seeds";
    fs::create_directories(scratch);

    // safetensors
    put(corpus / "safetensors/valid_f32", safetensors(scratch / "s", io::storage_dtype::f32));
    put(corpus / "safetensors/valid_f16", safetensors(scratch / "s", io::storage_dtype::f16));
    put(corpus / "safetensors/valid_bf16", safetensors(scratch / "s", io::storage_dtype::bf16));
    {
        const std::string v = safetensors(scratch / "s", io::storage_dtype::f32);
        put(corpus / "safetensors/truncated", v.substr(0, v.size() - 5));
    }
    put(corpus / "safetensors/huge_shape",
        safetensors_raw(R"({"t":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4]}})", 4));
    put(corpus / "safetensors/int_and_f64",
        safetensors_raw(R"({"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
                        R"("d":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}})",
                        16));
    put(corpus / "safetensors/header_past_end", u64le(1ULL << 40U) + "{}");

    // .npy
    put(corpus / "npy/valid_f4", npy("<f4", "(2, 3)", 24));
    put(corpus / "npy/valid_f8", npy("<f8", "(3,)", 24));
    put(corpus / "npy/scalar", npy("<f4", "()", 4));
    put(corpus / "npy/huge_shape", npy("<f4", "(1000000, 1000000)", 16));
    put(corpus / "npy/big_endian", npy(">f4", "(1,)", 4));
    put(corpus / "npy/truncated", npy("<f4", "(4, 4)", 10));

    // IDX
    put(corpus / "idx/valid_images", idx({2, 3, 3}, 18));
    put(corpus / "idx/valid_labels", idx({2}, 2));
    put(corpus / "idx/valid_images.gz", gzip(scratch / "g", idx({2, 3, 3}, 18)));
    put(corpus / "idx/huge_extents", idx({1000000, 1000000}, 4));
    put(corpus / "idx/truncated", idx({4, 2, 2}, 9));

    // apps files and the plan pipeline
    const std::string apps_small = R"({"stream_fps": 10, "budget": 50,
 "model": {"layer_latencies": [1.0, 2.0, 0.5, 0.25]},
 "apps": [{"name": "a", "event_length_ms": 500, "event_frequency": 0.1, "correlation_coefficient": 0.2,
           "curve": [{"num_frozen": 0, "accuracy": 0.9, "p_identified_inv": 0.05},
                     {"num_frozen": 2, "accuracy": 0.8, "p_identified_inv": 0.1}]},
          {"name": "b", "event_length_ms": 250, "event_frequency": 0.3, "correlation_coefficient": 0.5,
           "weight": 2, "curve": [{"num_frozen": 0, "accuracy": 0.7, "p_identified_inv": 0.2},
                                  {"num_frozen": 3, "accuracy": 0.6, "p_identified_inv": 0.3}]}]}
)";
    const std::string mainstream = slurp(root / "tests/data/sched/mainstream-apps.json");
    for (const char* h : {"apps_json", "plan"}) {
        put(corpus / h / "small", apps_small);
        put(corpus / h / "mainstream", mainstream);
        put(corpus / h / "missing_field", R"({"stream_fps": 10, "model": {"layer_latencies": [1]}})");
        put(corpus / h / "wrong_types", R"({"stream_fps": "10", "model": [], "apps": {}})");
        put(corpus / h / "deep", std::string(100, '[') + std::string(100, ']'));
    }

    // latency tables
    put(corpus / "latency_table/array", "[0.001, 0.002, 0.0005]");
    put(corpus / "latency_table/table", R"({"model": "m", "threads": 2, "layer_latencies": [1e-3, 2e-3]})");
    put(corpus / "latency_table/app_file", R"({"model": {"layer_latencies": [1, 2, 3]}})");
    put(corpus / "latency_table/tables", R"({"tables": [{"layer_latencies": [0.5]}]})");
    put(corpus / "latency_table/two_tables", R"({"tables": [[1], [2]]})");
    put(corpus / "latency_table/not_numbers", R"({"layer_latencies": [1, "x", null]})");

    // ONNX: a real exported model (tests/data/fixtures, made by tools/fixtures) and a cut copy
    const std::string net28 = slurp(root / "tests/data/fixtures/net28.onnx");
    put(corpus / "onnx/net28", net28);
    put(corpus / "onnx/net28_truncated", net28.substr(0, net28.size() / 2));
    put(corpus / "onnx/empty", "");

    // M-Packages of the tiny model, in fuzz_mpackage's layout ("name\nbytes" joined by "\n@@@@\n")
    {
        graph base = fuzz::tiny_model();
        base.bind_random(1);
        graph tuned = base;
        tuned.bind_random(2);
        graph cand = base;  // frozen prefix from base, suffix from tuned
        const std::size_t k = base.branch_points().size() > 1 ? base.branch_points()[1] : 0;
        for (std::size_t i = k; i < cand.size(); ++i) cand.bind(i, tuned.at(i).params);
        const std::vector<io::mpackage_candidate_model> cands{{0, 0.9, 0.1, &tuned}, {k, 0.8, 0.2, &cand}};
        const fs::path folder = scratch / "package";
        fs::remove_all(folder);
        const io::mpackage_manifest m = io::write_mpackage(folder, "app", "tiny", "tiny", base, cands);
        auto pack = [&](const std::string& manifest_text) {
            std::string out = "manifest.json\n" + manifest_text;
            out += "\n@@@@\n" + m.base_weights + "\n" + slurp(folder / m.base_weights);
            for (const auto& c : m.candidates) out += "\n@@@@\n" + c.weights + "\n" + slurp(folder / c.weights);
            return out;
        };
        const std::string manifest = slurp(folder / "manifest.json");
        put(corpus / "mpackage/valid", pack(manifest));
        std::string bad_digest = manifest;
        bad_digest.replace(bad_digest.find("sha256:") + 7, 4, "0000");
        put(corpus / "mpackage/bad_digest", pack(bad_digest));
        put(corpus / "mpackage/manifest_only", "manifest.json\n" + manifest);
        put(corpus / "mpackage/escape", R"(manifest.json
{"schema_version": 1, "app": "a", "base_model": {"id": "x", "digest": "sha256:00", "weights": "../etc/passwd",
 "layers": 6}, "architecture": "tiny", "branch_points": [0, 2], "candidates": []})");
    }
    fs::remove_all(scratch);
    std::cout << "seeds written under " << corpus.string() << "\n";
    return 0;
} catch (const std::exception& e) {
    std::cerr << "make_seeds: " << e.what() << "\n";
    return 1;
}
