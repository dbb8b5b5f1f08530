// libFuzzer harness: io::load_apps_file on arbitrary bytes, then io::select_apps by the first
// app's name.
#include "fuzz_support.hpp"

#include <stemshare/io/apps_file.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace stemshare;
    const auto path = fuzz::scratch_dir() / "apps.json";
    fuzz::write_bytes(path, {data, size});
    fuzz::expect_loads_or_named_error([&] {
        const io::apps_file f = io::load_apps_file(path);
        if (!f.apps.empty()) (void)io::select_apps(f.apps, f.apps.front().name);
    });
    return 0;
}
