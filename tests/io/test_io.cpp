// io without ONNX: digest, f16 conversions, safetensors, .npy, weight binding with PyTorch parity,
// M-Packages.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/digest.hpp>
#include <stemshare/io/bind_weights.hpp>
#include <stemshare/io/half.hpp>
#include <stemshare/io/mpackage.hpp>
#include <stemshare/io/npy.hpp>
#include <stemshare/io/safetensors.hpp>
#include <stemshare/io/weights_digest.hpp>
#include <stemshare/zoo/mobilenet_v2.hpp>
#include <stemshare/zoo/resnet50.hpp>

#include "io_test_support.hpp"

using namespace stemshare;
using io_test::error_of;
using io_test::fixture;
using io_test::scratch_dir;

namespace {

/// A safetensors file from a header text and raw data, exactly as given (for malformed files).
std::string safetensors_bytes(const std::string& header, const std::string& data) {
    std::string out(8, '\0');
    const std::uint64_t len = header.size();
    std::memcpy(out.data(), &len, 8);
    return out + header + data;
}
std::string floats_bytes(const std::vector<float>& v) {
    return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)};
}

tensor<float> iota_tensor(dims d, float start = 0.25F) {
    tensor<float> t(d);
    for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = start + 0.5F * static_cast<float>(i) - 3.0F;
    return t;
}

}  // namespace

// ---- digest -------------------------------------------------------------------------------------

TEST_CASE("digest: SHA-256 matches the FIPS 180-4 test vectors") {
    CHECK(digest::of(std::string_view("")).hex() ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(digest::of(std::string_view("abc")).hex() ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(digest::of(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).hex() ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    digest million;
    const std::string chunk(1000, 'a');
    for (int i = 0; i < 1000; ++i) million.update(chunk);
    CHECK(million.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("digest: any split of the same bytes gives the same hash, other bytes another") {
    std::string text;
    for (int i = 0; i < 300; ++i) text += static_cast<char>('a' + i % 26);
    const std::string whole = digest::of(std::string_view(text)).hex();
    for (std::size_t cut : {0UL, 1UL, 55UL, 56UL, 63UL, 64UL, 65UL, 128UL, 299UL}) {
        digest d;
        d.update(std::string_view(text).substr(0, cut));
        d.update(std::string_view(text).substr(cut));
        CHECK(d.hex() == whole);
    }
    text[150] = '!';
    CHECK(digest::of(std::string_view(text)).hex() != whole);
}

// ---- f16 / bf16 ---------------------------------------------------------------------------------

TEST_CASE("half: f16 bit patterns decode to their IEEE values") {
    CHECK(io::f16_to_f32(0x3C00) == 1.0F);
    CHECK(io::f16_to_f32(0xC000) == -2.0F);
    CHECK(io::f16_to_f32(0x7BFF) == 65504.0F);
    CHECK(io::f16_to_f32(0x0001) == std::ldexp(1.0F, -24));     // smallest subnormal
    CHECK(io::f16_to_f32(0x03FF) == std::ldexp(1023.0F, -24));  // largest subnormal
    CHECK(io::f16_to_f32(0x0400) == std::ldexp(1.0F, -14));     // smallest normal
    CHECK(io::f16_to_f32(0x3555) == 0.333251953125F);
    CHECK(std::isinf(io::f16_to_f32(0x7C00)));
    CHECK(std::isnan(io::f16_to_f32(0x7E00)));
    CHECK(std::signbit(io::f16_to_f32(0x8000)));
    CHECK(io::bf16_to_f32(0x3F80) == 1.0F);
    CHECK(io::bf16_to_f32(0xC0A0) == -5.0F);
}

TEST_CASE("half: f32 -> f16 rounds to nearest even and round-trips every f16 value") {
    CHECK(io::f32_to_f16(1.0F) == 0x3C00);
    CHECK(io::f32_to_f16(65504.0F) == 0x7BFF);
    CHECK(io::f32_to_f16(65520.0F) == 0x7C00);  // halfway to the next power: rounds up to infinity
    CHECK(io::f32_to_f16(std::ldexp(1.0F, -24)) == 0x0001);
    CHECK(io::f32_to_f16(std::ldexp(1.0F, -25)) == 0x0000);             // tie to even (zero)
    CHECK(io::f32_to_f16(1.0F + std::ldexp(1.0F, -11)) == 0x3C00);      // tie to even
    CHECK(io::f32_to_f16(1.0F + 3 * std::ldexp(1.0F, -11)) == 0x3C02);  // tie to even (up)
    int mismatches = 0;
    for (std::uint32_t h = 0; h < 0x10000; ++h) {
        const auto bits = static_cast<std::uint16_t>(h);
        if ((bits & 0x7C00) == 0x7C00 && (bits & 0x3FF) != 0) continue;  // NaN payloads
        if (io::f32_to_f16(io::f16_to_f32(bits)) != bits) ++mismatches;
    }
    CHECK(mismatches == 0);
}

// ---- safetensors --------------------------------------------------------------------------------

TEST_CASE("safetensors: write then read gives the same names, shapes, order, metadata and values") {
    scratch_dir dir;
    const tensor<float> a = iota_tensor(dims{4, 3, 3, 3});
    const tensor<float> b = iota_tensor(dims{4}, 9.0F);
    const tensor<float> c = iota_tensor(dims{2, 7}, -1.0F);
    const std::vector<io::named_view> tensors = {
        {"conv.weight", a.view()}, {"conv.bias", b.view()}, {"fc.weight", c.view()}};
    io::write_safetensors(dir / "w.safetensors", tensors, {.metadata = {{"format", "pt"}}});

    const io::safetensors_file f(dir / "w.safetensors");
    REQUIRE(f.size() == 3);
    CHECK(f.entries()[0].name == "conv.weight");
    CHECK(f.entries()[1].name == "conv.bias");
    CHECK(f.entries()[2].name == "fc.weight");
    CHECK(f.metadata().at("format") == "pt");
    CHECK(f.extents("conv.weight") == dims{4, 3, 3, 3});
    for (const auto& t : tensors) {
        const tensor<float> back = f.load(t.name);
        CHECK(back.extents() == t.value.extents());
        CHECK(std::equal(back.values().begin(), back.values().end(), t.value.values().begin()));
    }
    CHECK(f.raw("conv.bias").size() == 16);
}

TEST_CASE("safetensors: write -> read -> write gives identical bytes") {
    scratch_dir dir;
    const tensor<float> a = iota_tensor(dims{3, 5});
    const tensor<float> b = iota_tensor(dims{5}, 2.0F);
    io::write_safetensors(dir / "one.safetensors",
                          std::vector<io::named_view>{{"x", a.view()}, {"y", b.view()}});
    const io::safetensors_file f(dir / "one.safetensors");
    std::vector<tensor<float>> loaded;
    std::vector<io::named_view> again;
    for (const auto& e : f.entries()) loaded.push_back(f.load(e.name));
    for (std::size_t i = 0; i < loaded.size(); ++i) again.push_back({f.entries()[i].name, loaded[i].view()});
    io::write_safetensors(dir / "two.safetensors", again);
    CHECK(io_test::read_bytes(dir / "one.safetensors") == io_test::read_bytes(dir / "two.safetensors"));
}

TEST_CASE("safetensors: f16 and bf16 storage are converted to f32 on load") {
    scratch_dir dir;
    // Hand-written file: F16 [1, -2, 65504, 2^-24] and BF16 [1, -5].
    const std::string data =
        std::string("\x00\x3C\x00\xC0\xFF\x7B\x01\x00", 8) + std::string("\x80\x3F\xA0\xC0", 4);
    io_test::write_bytes(dir / "h.safetensors",
                         safetensors_bytes(R"({"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},)"
                                           R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}})",
                                           data));
    const io::safetensors_file f(dir / "h.safetensors");
    const tensor<float> h = f.load("h");
    CHECK(h.extents() == dims{2, 2});
    CHECK(h[0] == 1.0F);
    CHECK(h[1] == -2.0F);
    CHECK(h[2] == 65504.0F);
    CHECK(h[3] == std::ldexp(1.0F, -24));
    const tensor<float> b = f.load("b");
    CHECK(b[0] == 1.0F);
    CHECK(b[1] == -5.0F);

    // And the writer's f16 / bf16 storage reads back as the rounded values.
    const tensor<float> v = iota_tensor(dims{6});
    io::write_safetensors(dir / "f16.safetensors", std::vector<io::named_view>{{"v", v.view()}},
                          {.storage = io::storage_dtype::f16});
    io::write_safetensors(dir / "bf16.safetensors", std::vector<io::named_view>{{"v", v.view()}},
                          {.storage = io::storage_dtype::bf16});
    const tensor<float> v16 = io::safetensors_file(dir / "f16.safetensors").load("v");
    const tensor<float> vb16 = io::safetensors_file(dir / "bf16.safetensors").load("v");
    CHECK(io::safetensors_file(dir / "f16.safetensors").entries()[0].dtype == io::st_dtype::f16);
    for (std::int64_t i = 0; i < v.numel(); ++i) {
        CHECK(v16[i] == io::f16_to_f32(io::f32_to_f16(v[i])));
        CHECK(vb16[i] == static_cast<float>(bf16(v[i])));
    }
}

TEST_CASE("safetensors: the PyTorch fixture opens with its state_dict order and integer counters") {
    const io::safetensors_file f(fixture("net28.safetensors"));
    CHECK(f.entries().front().name == "features.0.weight");
    CHECK(f.entries().back().name == "classifier.bias");
    CHECK(f.entry("features.1.num_batches_tracked").dtype == io::st_dtype::i64);
    CHECK(f.extents("features.0.weight") == dims{16, 1, 3, 3});
    CHECK(error_of([&] {
              (void)f.load("features.1.num_batches_tracked");
          }).find("I64 is not a floating-point type") != std::string::npos);
    CHECK(error_of([&] { (void)f.load("nope"); }).find("no tensor named 'nope'") != std::string::npos);
    const auto names = f.names();
    CHECK(std::find(names.begin(), names.end(), "features.1.num_batches_tracked") == names.end());
}

TEST_CASE("safetensors: malformed files are rejected with the file and the problem named") {
    scratch_dir dir;
    const std::string two = floats_bytes({1.0F, 2.0F});
    auto open_error = [&](const std::string& bytes) {
        io_test::write_bytes(dir / "bad.safetensors", bytes);
        return error_of([&] { io::safetensors_file f(dir / "bad.safetensors"); });
    };
    const std::string good_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

    SUBCASE("a good file opens") {
        CHECK(open_error(safetensors_bytes(good_header, two)).empty());
    }
    SUBCASE("truncated below the length field") {
        const std::string e = open_error("\x05\x00\x00");
        CHECK(e.find("bad.safetensors") != std::string::npos);
        CHECK(e.find("truncated") != std::string::npos);
    }
    SUBCASE("truncated data") {
        const std::string e = open_error(safetensors_bytes(good_header, two.substr(0, 6)));
        CHECK(e.find("out of range") != std::string::npos);
    }
    SUBCASE("header length past the end") {
        std::string bytes = safetensors_bytes(good_header, two);
        const std::uint64_t huge = 1ULL << 20U;
        std::memcpy(bytes.data(), &huge, 8);
        const std::string e = open_error(bytes);
        CHECK(e.find("header length 1048576 runs past the end of the file") != std::string::npos);
    }
    SUBCASE("header is not JSON") {
        CHECK(open_error(safetensors_bytes("{not json}", two)).find("not valid JSON") != std::string::npos);
    }
    SUBCASE("offsets out of range") {
        const std::string e =
            open_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", two));
        CHECK(e.find("tensor 'a'") != std::string::npos);
        CHECK(e.find("out of range") != std::string::npos);
    }
    SUBCASE("offsets reversed") {
        CHECK(open_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", two))
                  .find("out of range") != std::string::npos);
    }
    SUBCASE("overlapping tensors") {
        const std::string e =
            open_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                         R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                         two));
        CHECK(e.find("overlap") != std::string::npos);
        CHECK(e.find("'a'") != std::string::npos);
        CHECK(e.find("'b'") != std::string::npos);
    }
    SUBCASE("bytes that belong to no tensor") {
        CHECK(open_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", two))
                  .find("belong to no tensor") != std::string::npos);
        CHECK(open_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", two))
                  .find("belong to no tensor") != std::string::npos);
    }
    SUBCASE("unknown dtype") {
        const std::string e =
            open_error(safetensors_bytes(R"({"a":{"dtype":"F24","shape":[2],"data_offsets":[0,8]}})", two));
        CHECK(e.find("unknown dtype 'F24'") != std::string::npos);
        CHECK(e.find("tensor 'a'") != std::string::npos);
    }
    SUBCASE("shape and size disagree") {
        const std::string e =
            open_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", two));
        CHECK(e.find("shape [3] of F32 needs 12 bytes, but data_offsets span 8") != std::string::npos);
    }
    SUBCASE("missing field") {
        CHECK(open_error(safetensors_bytes(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", two))
                  .find("missing field 'shape'") != std::string::npos);
    }
    SUBCASE("negative extent") {
        CHECK(open_error(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", two))
                  .find("non-negative") != std::string::npos);
    }
    SUBCASE("missing file") {
        const std::string e = error_of([&] { io::safetensors_file f(dir / "absent.safetensors"); });
        CHECK(e.find("absent.safetensors") != std::string::npos);
        CHECK(e.find("cannot open") != std::string::npos);
    }
}

TEST_CASE("safetensors: NaN and infinity are rejected on load unless allowed") {
    scratch_dir dir;
    const std::string header = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
    io_test::write_bytes(
        dir / "nan.safetensors",
        safetensors_bytes(header, floats_bytes({1.0F, std::numeric_limits<float>::quiet_NaN(), 2.0F})));
    io_test::write_bytes(
        dir / "inf.safetensors",
        safetensors_bytes(header, floats_bytes({1.0F, 2.0F, -std::numeric_limits<float>::infinity()})));
    const io::safetensors_file nan_file(dir / "nan.safetensors");  // opening reads no data
    const std::string e = error_of([&] { (void)nan_file.load("w"); });
    CHECK(e.find("tensor 'w'") != std::string::npos);
    CHECK(e.find("NaN") != std::string::npos);
    CHECK(e.find("index 1") != std::string::npos);
    CHECK(error_of([&] { (void)io::safetensors_file(dir / "inf.safetensors").load("w"); }).find("infinity") !=
          std::string::npos);
    const tensor<float> allowed =
        io::safetensors_file(dir / "nan.safetensors", {.non_finite = io::non_finite_policy::allow}).load("w");
    CHECK(std::isnan(allowed[1]));
}

TEST_CASE("safetensors: the writer refuses duplicate and reserved names") {
    scratch_dir dir;
    const tensor<float> a = iota_tensor(dims{2});
    CHECK(error_of([&] {
              io::write_safetensors(dir / "d.safetensors",
                                    std::vector<io::named_view>{{"x", a.view()}, {"x", a.view()}});
          }).find("'x' appears twice") != std::string::npos);
    CHECK(error_of([&] {
              io::write_safetensors(dir / "d.safetensors",
                                    std::vector<io::named_view>{{"__metadata__", a.view()}});
          }).find("reserved") != std::string::npos);
}

// ---- npy ----------------------------------------------------------------------------------------

TEST_CASE("npy: numpy's float32 arrays load with their shape, other files are refused") {
    const tensor<float> x = io::load_npy(fixture("net28.input.npy"));
    CHECK(x.extents() == dims{2, 1, 28, 28});
    CHECK(io_test::max_abs(x) <= 1.0F);
    CHECK(io_test::max_abs(x) > 0.5F);
    CHECK(error_of([] { (void)io::load_npy(fixture("net28.safetensors")); }).find("bad magic") !=
          std::string::npos);
}

TEST_CASE("npy: a header with a huge, zero, unparsable or short shape is refused naming the file") {
    io_test::scratch_dir dir;
    // A version 1.0 .npy: magic, version, little-endian header length, the header dict, then data.
    auto npy = [](const std::string& shape, const std::string& data) {
        std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
        header.resize(((header.size() + 11) / 64 + 1) * 64 - 10, ' ');
        header.back() = '\n';
        const auto len = static_cast<std::uint16_t>(header.size());
        return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(len & 0xFFU) +
               static_cast<char>(len >> 8U) + header + data;
    };
    const float one = 1.0F, two = 2.0F;
    const std::string data(reinterpret_cast<const char*>(&one), 4);
    const std::string data2 = data + std::string(reinterpret_cast<const char*>(&two), 4);

    // The well-formed file loads (the crafted header is valid).
    io_test::write_bytes(dir / "ok.npy", npy("(2,)", data2));
    const tensor<float> ok = io::load_npy(dir / "ok.npy");
    CHECK(ok.extents() == dims{2});
    CHECK(ok[1] == 2.0F);

    const auto error_for = [&](const std::string& name, const std::string& shape, const std::string& bytes) {
        io_test::write_bytes(dir / name, npy(shape, bytes));
        return error_of([&] { (void)io::load_npy(dir / name); });
    };
    const std::string huge = error_for("huge.npy", "(1000000000000,)", data);
    INFO(huge);
    CHECK(huge.find("huge.npy") != std::string::npos);
    CHECK(huge.find("(1000000000000,)") != std::string::npos);
    const std::string product = error_for("product.npy", "(4294967296, 4294967296, 16)", data);
    CHECK(product.find("product.npy") != std::string::npos);
    const std::string digits = error_for("digits.npy", "(123456789012345678901234567890,)", data);
    INFO(digits);
    CHECK(digits.find("digits.npy") != std::string::npos);
    CHECK(digits.find("'shape'") != std::string::npos);
    CHECK(digits.find("too large") != std::string::npos);
    const std::string zero = error_for("zero.npy", "(0,)", "");
    INFO(zero);
    CHECK(zero.find("zero.npy") != std::string::npos);
    CHECK(zero.find("zero extent") != std::string::npos);
    const std::string negative = error_for("negative.npy", "(-1,)", data);
    CHECK(negative.find("negative.npy") != std::string::npos);
    CHECK(negative.find("'shape'") != std::string::npos);
    const std::string junk = error_for("junk.npy", "(2, x)", data2);
    CHECK(junk.find("junk.npy") != std::string::npos);
    CHECK(junk.find("'x'") != std::string::npos);
    const std::string short_data = error_for("short.npy", "(3,)", data2);
    INFO(short_data);
    CHECK(short_data.find("short.npy") != std::string::npos);
    const std::string long_data = error_for("long.npy", "(1,)", data2);
    CHECK(long_data.find("long.npy") != std::string::npos);
    CHECK(long_data.find("data has 8 bytes") != std::string::npos);
}

// ---- binding chains to PyTorch weights: the safetensors parity path ------------------------------

TEST_CASE("bind_weights: net28 chain bound by order from safetensors matches PyTorch") {
    graph g = io_test::net28.to_graph();
    const io::safetensors_file f(fixture("net28.safetensors"));
    const auto r = io::bind_weights(g, f, {.mode = io::bind_mode::by_order, .require_all_used = true});
    CHECK(r.tensors_bound == 27);
    REQUIRE(g.is_bound());
    const tensor<float> x = io::load_npy(fixture("net28.input.npy"));
    const tensor<float> expected = io::load_npy(fixture("net28.output.npy"));
    const tensor<float> ours = reference::run(g, x.view());
    onednn::compiled_graph compiled(g, {.batch = 2, .threads = 1});
    const tensor<float> fast = compiled.run(x.view());
    const float err_ref = io_test::max_abs_diff(ours, expected);
    const float err_dnnl = io_test::max_abs_diff(fast, expected);
    MESSAGE("net28 safetensors path: max abs error reference " << err_ref << ", oneDNN " << err_dnnl);
    CHECK(err_ref <= io_test::parity_tolerance(expected));
    CHECK(err_dnnl <= io_test::parity_tolerance(expected));
}

TEST_CASE("bind_weights: by name with a module table gives the same weights as by order") {
    graph by_order = io_test::net28.to_graph();
    graph by_name = io_test::net28.to_graph();
    const io::safetensors_file f(fixture("net28.safetensors"));
    io::bind_weights(by_order, f, {.mode = io::bind_mode::by_order});
    const std::map<std::string, std::string> modules = {{"0.0.conv2d", "features.0"},
                                                        {"0.1.batch_norm", "features.1"},
                                                        {"1.0.depthwise_conv2d", "features.3"},
                                                        {"1.1.batch_norm", "features.4"},
                                                        {"1.3.conv2d", "features.6"},
                                                        {"1.4.batch_norm", "features.7"},
                                                        {"2.0.depthwise_conv2d", "features.9"},
                                                        {"2.1.batch_norm", "features.10"},
                                                        {"2.3.conv2d", "features.12"},
                                                        {"2.4.batch_norm", "features.13"},
                                                        {"5.dense", "classifier"}};
    const auto r = io::bind_weights(by_name, f, {.modules = modules});
    CHECK(r.unused.empty());
    for (std::size_t i = 0; i < by_name.size(); ++i)
        for (std::size_t p = 0; p < by_name.at(i).params.size(); ++p)
            CHECK(io_test::max_abs_diff(by_name.at(i).params[p], by_order.at(i).params[p]) == 0.0F);
}

TEST_CASE("bind_weights: ResNet block stack chain bound by name from safetensors matches PyTorch") {
    graph g = io_test::resnet_stack.to_graph();
    const io::safetensors_file f(fixture("resnet_stack.safetensors"));
    io::bind_weights(g, f, {.modules = io_test::resnet_stack_modules(), .require_all_used = true});
    const tensor<float> x = io::load_npy(fixture("resnet_stack.input.npy"));
    const tensor<float> expected = io::load_npy(fixture("resnet_stack.output.npy"));
    const float err_ref = io_test::max_abs_diff(reference::run(g, x.view()), expected);
    onednn::compiled_graph compiled(g, {.batch = 2, .threads = 1});
    const float err_dnnl = io_test::max_abs_diff(compiled.run(x.view()), expected);
    MESSAGE("resnet_stack safetensors path: max abs error reference "
            << err_ref << ", oneDNN " << err_dnnl << " (max |y| " << io_test::max_abs(expected) << ")");
    CHECK(err_ref <= io_test::parity_tolerance(expected));
    CHECK(err_dnnl <= io_test::parity_tolerance(expected));
}

TEST_CASE("bind_weights: MobileNetV2 graph bound by PyTorch names from safetensors matches PyTorch") {
    graph g = io_test::mobilenet_v2_64();
    const io::safetensors_file f(fixture("mobilenet_v2_64.safetensors"));
    const auto r = io::bind_weights(g, f);
    CHECK(r.unused.empty());
    const tensor<float> x = io::load_npy(fixture("mobilenet_v2_64.input.npy"));
    const tensor<float> expected = io::load_npy(fixture("mobilenet_v2_64.output.npy"));
    const float err_ref = io_test::max_abs_diff(reference::run(g, x.view()), expected);
    onednn::compiled_graph compiled(g, {.batch = 2, .threads = 1});
    const float err_dnnl = io_test::max_abs_diff(compiled.run(x.view()), expected);
    MESSAGE("mobilenet_v2_64 safetensors path: max abs error reference "
            << err_ref << ", oneDNN " << err_dnnl << " (max |y| " << io_test::max_abs(expected) << ")");
    CHECK(err_ref <= io_test::parity_tolerance(expected));
    CHECK(err_dnnl <= io_test::parity_tolerance(expected));
}

TEST_CASE("bind_weights: a shape mismatch names the layer, the parameter and both shapes") {
    graph g = io_test::net28.to_graph();
    const io::safetensors_file f(fixture("resnet_stack.safetensors"));  // the wrong model
    const std::string e = error_of([&] { io::bind_weights(g, f, {.mode = io::bind_mode::by_order}); });
    CHECK(e.find("layer '0.0.conv2d'") != std::string::npos);
    CHECK(e.find("parameter 'weight' needs dims {16, 1, 3, 3}") != std::string::npos);
    CHECK(e.find("tensor 'conv1.weight' has {16, 3, 7, 7}") != std::string::npos);
    CHECK(!g.at(0).is_bound());
}

TEST_CASE("bind_weights: a missing tensor and too few tensors are named") {
    graph g = io_test::net28.to_graph();
    const io::safetensors_file f(fixture("net28.safetensors"));
    const std::string missing = error_of([&] { io::bind_weights(g, f); });  // chain names are not PyTorch's
    CHECK(missing.find("maps to tensor '0.0.conv2d.weight', which the file does not have") !=
          std::string::npos);
    graph bigger = io_test::resnet_stack.to_graph();
    scratch_dir dir;
    const tensor<float> w = iota_tensor(dims{16, 3, 7, 7});
    io::write_safetensors(dir / "one.safetensors", std::vector<io::named_view>{{"conv1.weight", w.view()}});
    const std::string few = error_of([&] {
        io::bind_weights(bigger, io::safetensors_file(dir / "one.safetensors"),
                         {.mode = io::bind_mode::by_order});
    });
    CHECK(few.find("ran out of tensors at layer '1.batch_norm'") != std::string::npos);
}

namespace {

/// A weight source over torchvision's state_dict names and shapes (no file): each float tensor is
/// filled with its position in the list, so a test can tell which tensor a parameter took.
class listed_source {
public:
    explicit listed_source(const nlohmann::json& list) {
        for (const auto& e : list) {
            if (e[1] != "F32") continue;  // num_batches_tracked (I64) is not a weight
            names_.push_back(e[0].get<std::string>());
            shapes_.emplace(names_.back(), e[2].get<std::vector<std::int64_t>>());
        }
    }
    [[nodiscard]] bool contains(std::string_view name) const { return shapes_.contains(std::string(name)); }
    [[nodiscard]] dims extents(std::string_view name) const {
        return dims(std::span<const std::int64_t>(shapes_.at(std::string(name))));
    }
    [[nodiscard]] tensor<float> load(std::string_view name) const {
        tensor<float> t(extents(name));
        const auto position = std::find(names_.begin(), names_.end(), name) - names_.begin();
        fill_constant(t.values(), static_cast<float>(position));
        return t;
    }
    [[nodiscard]] const std::vector<std::string>& names() const { return names_; }
    [[nodiscard]] std::string source() const { return "torchvision state_dict list"; }

private:
    std::vector<std::string> names_;
    std::map<std::string, std::vector<std::int64_t>> shapes_;
};

void check_binds_to_torchvision(graph g, const nlohmann::json& list) {
    const listed_source src(list);
    const auto r = io::bind_weights(g, src, {.mode = io::bind_mode::by_order, .require_all_used = true});
    CHECK(g.is_bound());
    CHECK(r.tensors_bound == src.names().size());
    int wrong_kind = 0;
    for (const node& n : g.nodes()) {
        const param_list descs = n.param_descs();
        for (std::size_t p = 0; p < descs.size(); ++p) {
            const std::string& torch_name = src.names()[static_cast<std::size_t>(n.params[p][0])];
            if (!torch_name.ends_with("." + std::string(descs[p].name))) ++wrong_kind;
        }
    }
    CHECK(wrong_kind == 0);
}

}  // namespace

TEST_CASE(
    "bind_weights: zoo MobileNetV2 and ResNet-50 chains bind by order to torchvision's state_dict layout") {
    std::ifstream in(fixture("torchvision_state_dict_shapes.json"));
    const auto all = nlohmann::json::parse(in);
    check_binds_to_torchvision(zoo::mobilenet_v2.to_graph(), all.at("mobilenet_v2"));
    check_binds_to_torchvision(zoo::resnet50.to_graph(), all.at("resnet50"));
}

// ---- M-Package ----------------------------------------------------------------------------------

namespace {

graph net28_base() {
    graph g = io_test::net28.to_graph();
    io::bind_weights(g, io::safetensors_file(fixture("net28.safetensors")),
                     {.mode = io::bind_mode::by_order});
    return g;
}

/// The base with layers [k, end) changed, as fine-tuning with k frozen layers would.
graph fine_tuned(const graph& base, std::size_t k, float delta) {
    graph g = base;
    for (std::size_t i = k; i < g.size(); ++i)
        for (auto& p : g.at(i).params)
            for (auto& v : p.values()) v += delta;
    return g;
}

struct package_fixture {
    scratch_dir dir;
    graph base = net28_base();
    graph c9 = fine_tuned(base, 9, 0.01F);
    graph c15 = fine_tuned(base, 15, -0.02F);
    io::mpackage_manifest written;

    package_fixture() {
        const std::vector<io::mpackage_candidate_model> cands = {{9, 0.91, 0.05, &c9},
                                                                 {15, 0.85, 0.125, &c15}};
        written = io::write_mpackage(dir.path(), "is_bag", "net28-fmnist", "net28", base, cands);
    }
    [[nodiscard]] nlohmann::json manifest() const {
        std::ifstream in(dir / "manifest.json");
        return nlohmann::json::parse(in);
    }
    void set_manifest(const nlohmann::json& j) const {
        std::ofstream out(dir / "manifest.json", std::ios::trunc);
        out << j.dump(2);
    }
    [[nodiscard]] std::string read_error() const {
        return error_of([&] { (void)io::mpackage::read(dir.path()); });
    }
};

}  // namespace

TEST_CASE("mpackage: write then read gives the same manifest and each candidate's exact weights") {
    package_fixture p;
    const io::mpackage pkg = io::mpackage::read(p.dir.path());
    CHECK(pkg.manifest() == p.written);
    CHECK(pkg.manifest().schema_version == 1);
    CHECK(pkg.manifest().app == "is_bag");
    CHECK(pkg.manifest().base_layers == p.base.size());
    CHECK(pkg.manifest().branch_points == std::vector<std::size_t>{0, 3, 9, 15, 16, 17, 18, 19});
    CHECK(pkg.manifest().base_digest == io::weights_digest(p.base));
    REQUIRE(pkg.manifest().candidates.size() == 2);
    CHECK(pkg.manifest().candidates[1].false_positive_rate == 0.125);

    // The stem is stored once: candidate files hold only their suffix layers.
    CHECK(pkg.candidate_weights(0).size() == 12);  // layers 9..18: 2 convs, 2 batch-norms (4 each), dense (2)
    const graph c9 = pkg.candidate_model(0, io_test::net28.to_graph());
    const graph c15 = pkg.candidate_model(1, io_test::net28.to_graph());
    for (std::size_t i = 0; i < c9.size(); ++i)
        for (std::size_t q = 0; q < c9.at(i).params.size(); ++q) {
            CHECK(io_test::max_abs_diff(c9.at(i).params[q], p.c9.at(i).params[q]) == 0.0F);
            CHECK(io_test::max_abs_diff(c15.at(i).params[q], p.c15.at(i).params[q]) == 0.0F);
        }
    const graph base = pkg.base_model(io_test::net28.to_graph());
    CHECK(io::weights_digest(base) == p.written.base_digest);
}

TEST_CASE("mpackage: writing twice gives byte-identical files") {
    package_fixture a;
    package_fixture b;
    for (const char* name :
         {"manifest.json", "base.safetensors", "candidate_9.safetensors", "candidate_15.safetensors"})
        CHECK(io_test::read_bytes(a.dir / name) == io_test::read_bytes(b.dir / name));
}

TEST_CASE("mpackage: the writer refuses a candidate whose frozen layers differ from the base") {
    scratch_dir dir;
    const graph base = net28_base();
    const graph bad = fine_tuned(base, 3, 0.5F);  // changes layers from 3 on, but claims 9 frozen
    const std::vector<io::mpackage_candidate_model> cands = {{9, 0.9, 0.1, &bad}};
    const std::string e = error_of([&] { io::write_mpackage(dir.path(), "a", "b", "net28", base, cands); });
    INFO(e);
    CHECK(e.find("frozen layer '1.0.depthwise_conv2d' has weights that differ from the base") !=
          std::string::npos);
    const std::vector<io::mpackage_candidate_model> off = {{4, 0.9, 0.1, &base}};
    CHECK(error_of([&] {
              io::write_mpackage(dir.path(), "a", "b", "net28", base, off);
          }).find("not a branch point") != std::string::npos);
}

TEST_CASE("mpackage: a manifest with a missing field names the field") {
    package_fixture p;
    SUBCASE("candidate accuracy") {
        auto j = p.manifest();
        j["candidates"][1].erase("accuracy");
        p.set_manifest(j);
        CHECK(p.read_error().find("missing field 'candidates[1].accuracy'") != std::string::npos);
    }
    SUBCASE("base digest") {
        auto j = p.manifest();
        j["base_model"].erase("digest");
        p.set_manifest(j);
        CHECK(p.read_error().find("missing field 'base_model.digest'") != std::string::npos);
    }
    SUBCASE("branch points") {
        auto j = p.manifest();
        j.erase("branch_points");
        p.set_manifest(j);
        CHECK(p.read_error().find("missing field 'branch_points'") != std::string::npos);
    }
    SUBCASE("a rate outside [0, 1]") {
        auto j = p.manifest();
        j["candidates"][0]["false_positive_rate"] = 1.5;
        p.set_manifest(j);
        CHECK(p.read_error().find("'candidates[0].false_positive_rate' must be a number in [0, 1]") !=
              std::string::npos);
    }
}

TEST_CASE("mpackage: a wrong schema version, a missing file or a changed stem is refused") {
    package_fixture p;
    SUBCASE("schema version") {
        auto j = p.manifest();
        j["schema_version"] = 2;
        p.set_manifest(j);
        CHECK(p.read_error().find("schema_version 2 is not supported") != std::string::npos);
    }
    SUBCASE("missing candidate file") {
        std::filesystem::remove(p.dir / "candidate_15.safetensors");
        const std::string e = p.read_error();
        CHECK(e.find("file 'candidate_15.safetensors' (candidates[1].weights) does not exist") !=
              std::string::npos);
    }
    SUBCASE("missing manifest") {
        std::filesystem::remove(p.dir / "manifest.json");
        CHECK(p.read_error().find("has no manifest.json") != std::string::npos);
    }
    SUBCASE("base weights replaced") {
        const graph other = fine_tuned(p.base, 0, 0.001F);
        const auto tensors = io::detail::layer_tensors(other, 0, other.size());
        io::write_safetensors(p.dir / "base.safetensors", tensors);
        CHECK(p.read_error().find("the manifest's base_model.digest says") != std::string::npos);
    }
    SUBCASE("a path leaving the package") {
        auto j = p.manifest();
        j["candidates"][0]["weights"] = "../elsewhere.safetensors";
        p.set_manifest(j);
        CHECK(p.read_error().find("must be a file name inside the package folder") != std::string::npos);
    }
    SUBCASE("wrong architecture for a candidate") {
        const io::mpackage pkg = io::mpackage::read(p.dir.path());
        CHECK(error_of([&] {
                  (void)pkg.candidate_model(0, io_test::resnet_stack.to_graph());
              }).find("the given architecture has") != std::string::npos);
    }
}
