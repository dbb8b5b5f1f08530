#pragma once
/// \file
/// `io::parse_json` and `io::read_json_file`: JSON documents read from files other people made
/// (apps files, M-Package manifests, latency tables), within stated bounds checked before the
/// document is built: at most `max_json_bytes` of text and `max_json_depth` levels of nesting (a
/// file of a million '[' would otherwise cost gigabytes of nodes). Every failure, a syntax error
/// included, is a `stemshare::error` naming the file.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/io/file_reader.hpp>

namespace stemshare::io {

/// The largest JSON document stemshare reads (64 MiB: the largest real one, a latency table of a
/// big model with its benchmark report, is a few MiB).
inline constexpr std::size_t max_json_bytes = std::size_t{64} << 20U;
/// The deepest nesting of objects and arrays accepted (the formats stemshare reads need 5).
inline constexpr std::size_t max_json_depth = 64;

/// Parses `text` of at most `max_bytes`; `where` names the document in errors.
[[nodiscard]] inline nlohmann::json parse_json(std::string_view text, const std::string& where,
                                               std::size_t max_bytes = max_json_bytes) {
    if (text.size() > max_bytes)
        throw error(where, "is " + std::to_string(text.size()) + " bytes, above the " +
                               std::to_string(max_bytes) + "-byte limit for JSON documents");
    // The depth is checked as the parser goes, before the deeper node exists.
    const nlohmann::json::parser_callback_t bound_depth = [&where](int depth, nlohmann::json::parse_event_t event,
                                                                   nlohmann::json&) {
        if ((event == nlohmann::json::parse_event_t::object_start ||
             event == nlohmann::json::parse_event_t::array_start) &&
            static_cast<std::size_t>(depth) >= max_json_depth)
            throw error(where, "nests objects and arrays deeper than " + std::to_string(max_json_depth) +
                                   " levels");
        return true;
    };
    try {
        return nlohmann::json::parse(text.begin(), text.end(), bound_depth);
    } catch (const nlohmann::json::exception& e) {
        throw error(where, std::string("is not valid JSON: ") + e.what());
    }
}

/// Reads and parses the JSON file at `path` (size checked before reading). `what` says what the
/// file is in the error for a file that cannot be opened ("<path>: cannot open the app file").
[[nodiscard]] inline nlohmann::json read_json_file(const std::filesystem::path& path, const std::string& what) {
    const std::string where = path.string();
    std::optional<file_reader> opened;
    try {
        opened.emplace(path);
    } catch (const error&) {
        throw error(where, "cannot open " + what);
    }
    const file_reader& file = *opened;
    if (file.size() > max_json_bytes)
        throw error(where, "is " + std::to_string(file.size()) + " bytes, above the " +
                               std::to_string(max_json_bytes) + "-byte limit for JSON documents");
    const std::vector<std::byte> bytes = file.read_all();
    return parse_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), where);
}

}  // namespace stemshare::io
