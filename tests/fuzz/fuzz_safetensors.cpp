// libFuzzer harness: io::safetensors_file on arbitrary bytes, then every tensor loaded (or its raw
// bytes read when it is not a float type).
#include "fuzz_support.hpp"

#include <stemshare/io/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace stemshare;
    const auto path = fuzz::scratch_dir() / "input.safetensors";
    fuzz::write_bytes(path, {data, size});
    fuzz::expect_loads_or_named_error([&] {
        const io::safetensors_file file(path);
        for (const auto& e : file.entries()) {
            fuzz::expect_loads_or_named_error([&] { (void)file.extents(e.name); });
            if (io::is_loadable_float(e.dtype))
                fuzz::expect_loads_or_named_error([&] { (void)file.load(e.name); });
            else
                (void)file.raw(e.name);
        }
    });
    return 0;
}
