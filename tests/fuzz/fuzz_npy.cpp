// libFuzzer harness: io::load_npy on arbitrary bytes (tests/fuzz/fuzz_support.hpp states the contract).
#include "fuzz_support.hpp"

#include <stemshare/io/npy.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = stemshare::fuzz::scratch_dir() / "input.npy";
    stemshare::fuzz::write_bytes(path, {data, size});
    stemshare::fuzz::expect_loads_or_named_error([&] { (void)stemshare::io::load_npy(path); });
    return 0;
}
