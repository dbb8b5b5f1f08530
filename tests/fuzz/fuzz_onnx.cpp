// libFuzzer harness: io::load_onnx and io::onnx_weights on arbitrary bytes (a protobuf ModelProto
// as bytes; the seeds are real exported models).
#include "fuzz_support.hpp"

#include <stemshare/io/onnx_import.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace stemshare;
    const auto path = fuzz::scratch_dir() / "model.onnx";
    fuzz::write_bytes(path, {data, size});
    fuzz::expect_loads_or_named_error([&] { (void)io::load_onnx(path); });
    fuzz::expect_loads_or_named_error([&] { (void)io::onnx_weights(path); });
    return 0;
}
