#pragma once
// Every file the CLI writes goes through here, so a path that cannot be written is an error
// naming it rather than a "wrote ..." line over nothing.

#include <fstream>
#include <string>

#include <stemshare/core/error.hpp>

namespace stemshare::tools {

inline void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    if (!out) throw error(path, "cannot open for writing");
    out << text;
    out.flush();
    if (!out) throw error(path, "write failed");
}

}  // namespace stemshare::tools
