// libFuzzer harness: an M-Package folder made from the input, read with io::mpackage::read, then
// its base model and every candidate bound to a tiny fixed architecture (fuzz_model.hpp).
//
// Input layout: files separated by "\n@@@@\n", each "<file name>\n<bytes>". A name that is not a
// plain file name (letters, digits, '.', '_', '-'; no leading '.'; at most 64 characters) skips
// its file. tests/fuzz/make_seeds.cpp writes valid packages in this layout.
#include "fuzz_support.hpp"
#include "fuzz_model.hpp"

#include <algorithm>
#include <string_view>

#include <stemshare/io/mpackage.hpp>

namespace {
bool plain_name(std::string_view n) {
    return !n.empty() && n.size() <= 64 && n.front() != '.' &&
           std::all_of(n.begin(), n.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
           });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace stemshare;
    const auto folder = fuzz::scratch_dir() / "package";
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    constexpr std::string_view separator = "\n@@@@\n";
    std::size_t start = 0;
    while (start <= input.size()) {
        const std::size_t end = std::min(input.find(separator, start), input.size());
        const std::string_view part = input.substr(start, end - start);
        const std::size_t newline = part.find('\n');
        if (newline != std::string_view::npos && plain_name(part.substr(0, newline))) {
            const std::string_view bytes = part.substr(newline + 1);
            fuzz::write_bytes(folder / std::string(part.substr(0, newline)),
                              {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
        }
        start = end + separator.size();
    }
    fuzz::expect_loads_or_named_error([&] {
        const io::mpackage p = io::mpackage::read(folder);
        fuzz::expect_loads_or_named_error([&] { (void)p.base_model(fuzz::tiny_model()); });
        for (std::size_t i = 0; i < p.manifest().candidates.size(); ++i)
            fuzz::expect_loads_or_named_error([&] { (void)p.candidate_model(i, fuzz::tiny_model()); });
    });
    return 0;
}
