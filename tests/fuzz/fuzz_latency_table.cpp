// libFuzzer harness: profiling::read_layer_latencies (what `stemshare plan --latencies` reads) on
// arbitrary bytes.
#include "fuzz_support.hpp"

#include <stemshare/profiling/latency_table.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace stemshare;
    const auto path = fuzz::scratch_dir() / "table.json";
    fuzz::write_bytes(path, {data, size});
    fuzz::expect_loads_or_named_error([&] { (void)profiling::read_layer_latencies(path.string()); });
    return 0;
}
