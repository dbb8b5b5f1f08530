#pragma once
// Every file the CLI writes goes through here, so a path that cannot be written is an error
// naming it rather than a "wrote ..." line over nothing, and a failed write leaves the previous
// file whole (io/atomic_file.hpp: temporary file, fsync, rename).

#include <string>

#include <stemshare/io/atomic_file.hpp>

namespace stemshare::tools {

inline void write_file(const std::string& path, const std::string& text) {
    io::write_file_atomically(path, text);
}

}  // namespace stemshare::tools
