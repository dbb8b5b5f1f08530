// libFuzzer harness: IDX files, parsed from memory and read from a file (plain or gzipped) with
// io::read_idx_images pairing the input with itself as images and labels.
#include "fuzz_support.hpp"

#include <stemshare/io/idx.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace stemshare;
    fuzz::expect_loads_or_named_error([&] { (void)io::parse_idx({data, size}, "<fuzz>"); });
    const auto path = fuzz::scratch_dir() / "input.idx";
    fuzz::write_bytes(path, {data, size});
    fuzz::expect_loads_or_named_error([&] { (void)io::read_idx(path); });
    fuzz::expect_loads_or_named_error([&] { (void)io::read_idx_images(path, path); });
    return 0;
}
