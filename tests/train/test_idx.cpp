// The IDX reader on hand-made files (plain and gzipped), bad files, and Debian's Fashion-MNIST
// through the demo's loader (tools/fashion).
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <zlib.h>

#include <stemshare/io/idx.hpp>

#include <fashion/dataset.hpp>

#include "support/skip.hpp"

using namespace stemshare;
namespace fs = std::filesystem;

namespace {

// The folder the build says holds the dataset (STEMSHARE_FASHION_MNIST_DIR in CMake).
fs::path fashion_dir() {
    return STEMSHARE_FASHION_MNIST_DIR;
}

std::vector<std::uint8_t> idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& extents,
                                    const std::vector<std::uint8_t>& data) {
    std::vector<std::uint8_t> out{0, 0, type, static_cast<std::uint8_t>(extents.size())};
    for (std::uint32_t e : extents)
        for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(e >> shift));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

fs::path scratch(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / "stemshare_test_idx";
    fs::create_directories(dir);
    return dir / name;
}

fs::path write_gz(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    const fs::path p = scratch(name);
    gzFile f = gzopen(p.string().c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
    gzclose(f);
    return p;
}

fs::path write_plain(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    const fs::path p = scratch(name);
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return p;
}

std::vector<std::uint8_t> pixels(std::size_t n) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
    return v;
}

}  // namespace

TEST_CASE("idx: a hand-made gzipped image file and label file read back exactly") {
    const auto data = pixels(3 * 4 * 5);
    const auto images = write_gz("images.gz", idx_bytes(0x08, {3, 4, 5}, data));
    const auto labels = write_gz("labels.gz", idx_bytes(0x08, {3}, {7, 0, 9}));

    const io::idx_array raw = io::read_idx(images);
    CHECK(raw.extents == std::vector<std::int64_t>{3, 4, 5});
    CHECK(raw.data == data);

    const io::labelled_images set = io::read_idx_images(images, labels);
    CHECK(set.size() == 3);
    CHECK(set.images.extents() == dims{3, 1, 4, 5});
    CHECK(set.labels == std::vector<std::uint8_t>{7, 0, 9});
    for (std::size_t i = 0; i < data.size(); ++i)
        CHECK(set.images[static_cast<std::int64_t>(i)] == doctest::Approx(data[i] / 255.0));
}

TEST_CASE("idx: plain (not gzipped) files read too") {
    const auto p = write_plain("plain.idx", idx_bytes(0x08, {2, 2}, {1, 2, 3, 4}));
    CHECK(io::read_idx(p).data == std::vector<std::uint8_t>{1, 2, 3, 4});
}

TEST_CASE("idx: wrong magic is refused, naming the file") {
    auto bytes = idx_bytes(0x08, {2}, {1, 2});
    bytes[0] = 0x1f;
    const auto p = write_gz("magic.gz", bytes);
    CHECK_THROWS_WITH_AS(io::read_idx(p), doctest::Contains("magic.gz: wrong magic"), stemshare::error);
    const auto floats = write_gz("floats.gz", idx_bytes(0x0D, {1}, {0, 0, 0, 0}));
    CHECK_THROWS_WITH_AS(io::read_idx(floats), doctest::Contains("element type 0x0d"), stemshare::error);
}

TEST_CASE("idx: truncated files are refused") {
    const auto short_data = write_gz("short.gz", idx_bytes(0x08, {3, 2, 2}, pixels(11)));
    CHECK_THROWS_WITH_AS(io::read_idx(short_data), doctest::Contains("truncated IDX file"), stemshare::error);
    const auto short_header = write_gz("header.gz", {0, 0, 8, 3, 0, 0});
    CHECK_THROWS_WITH_AS(io::read_idx(short_header), doctest::Contains("header needs 16 bytes"),
                         stemshare::error);

    // A gzip stream cut in the middle.
    const auto whole = write_gz("whole.gz", idx_bytes(0x08, {50, 28, 28}, pixels(50 * 28 * 28)));
    std::ifstream in(whole, std::ios::binary);
    std::vector<char> gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    gz.resize(gz.size() / 2);
    const auto cut = scratch("cut.gz");
    std::ofstream(cut, std::ios::binary).write(gz.data(), static_cast<std::streamsize>(gz.size()));
    CHECK_THROWS_AS(io::read_idx(cut), stemshare::error);
}

TEST_CASE("idx: count mismatches are refused") {
    const auto extra = write_gz("extra.gz", idx_bytes(0x08, {2}, {1, 2, 3}));
    CHECK_THROWS_WITH_AS(io::read_idx(extra), doctest::Contains("count mismatch"), stemshare::error);

    const auto images = write_gz("img3.gz", idx_bytes(0x08, {3, 2, 2}, pixels(12)));
    const auto labels = write_gz("lab2.gz", idx_bytes(0x08, {2}, {1, 2}));
    CHECK_THROWS_WITH_AS(io::read_idx_images(images, labels),
                         doctest::Contains("count mismatch: 2 labels for 3 images"), stemshare::error);
    CHECK_THROWS_WITH_AS(io::read_idx_images(labels, labels), doctest::Contains("rank 3"), stemshare::error);
}

TEST_CASE("idx: a missing dataset names the Debian package to install") {
    const fs::path nowhere = scratch("no-such-dir");
    CHECK_FALSE(fashion::dataset_available(nowhere));
    CHECK_THROWS_WITH_AS(fashion::load_dataset(fashion::dataset_split::test, nowhere),
                         doctest::Contains("apt-get install dataset-fashion-mnist"), stemshare::error);
    CHECK_THROWS_WITH_AS(io::read_idx(nowhere / "x.gz"), doctest::Contains("no such file"), stemshare::error);
}

TEST_CASE("idx: Debian's Fashion-MNIST test split reads as 10000 labelled 28x28 images") {
    STEMSHARE_SKIP_IF(!fashion::dataset_available(fashion_dir()),
                      "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    const io::labelled_images test = fashion::load_dataset(fashion::dataset_split::test, fashion_dir());
    CHECK(test.size() == 10000);
    CHECK(test.images.extents() == dims{10000, 1, 28, 28});
    std::vector<int> per_class(10, 0);
    for (auto l : test.labels) ++per_class[l];
    for (int c = 0; c < 10; ++c)
        CHECK(per_class[static_cast<std::size_t>(c)] == 1000);  // the split is balanced
    float max = 0.0F;
    for (float v : test.images.values()) max = std::max(max, v);
    CHECK(max == 1.0F);
}
