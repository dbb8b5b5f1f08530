#pragma once
/// \file
/// `io::file_reader`: an open, read-only file whose bytes are read on demand with `pread`.
///
/// Weight files are opened once and read tensor by tensor when a layer asks for its weights, maybe
/// long after opening. A memory map would kill the process with SIGBUS when another program
/// truncates the file in the meantime; `pread` instead returns fewer bytes, which `read` turns
/// into a `stemshare::error` naming the file. The descriptor stays open, so a file replaced by a
/// rename or deleted after opening is still read whole and consistent (the old inode's bytes).

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stemshare/core/error.hpp>

namespace stemshare::io {

class file_reader {
public:
    /// Opens `path`; throws `stemshare::error` naming the file when it cannot be opened or is not
    /// a regular file. `size()` is its size at this moment.
    explicit file_reader(const std::filesystem::path& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw error(path.string(), std::string("cannot open: ") + std::strerror(errno));
        struct ::stat st {};
        if (::fstat(fd_, &st) != 0) {
            const int e = errno;
            ::close(fd_);
            throw error(path.string(), std::string("cannot stat: ") + std::strerror(e));
        }
        if (!S_ISREG(st.st_mode)) {
            ::close(fd_);
            throw error(path.string(), "is not a regular file");
        }
        size_ = static_cast<std::size_t>(st.st_size);
    }
    file_reader(const file_reader&) = delete;
    file_reader& operator=(const file_reader&) = delete;
    ~file_reader() { ::close(fd_); }

    /// Fills `dst` with the bytes at `offset`. Throws `stemshare::error` naming the file when the
    /// range lies past the size seen at opening or the file has shrunk since (truncated while in
    /// use), or on an I/O error; `dst` is then partly written and must not be used.
    void read(std::uint64_t offset, std::span<std::byte> dst) const {
        check_range(offset, dst.size());
        std::size_t done = 0;
        while (done < dst.size()) {
            const ::ssize_t n = ::pread(fd_, dst.data() + done, dst.size() - done,
                                        static_cast<::off_t>(offset + done));
            if (n < 0) {
                if (errno == EINTR) continue;
                throw error(path_.string(), std::string("read failed: ") + std::strerror(errno));
            }
            if (n == 0)
                throw error(path_.string(), "the file shrank while in use: it had " + std::to_string(size_) +
                                                " bytes when opened, now ends before byte " +
                                                std::to_string(offset + done + 1) +
                                                " (truncated or rewritten in place by another program?)");
            done += static_cast<std::size_t>(n);
        }
    }
    /// The `count` bytes at `offset` as a new buffer (see `read`).
    [[nodiscard]] std::vector<std::byte> read(std::uint64_t offset, std::size_t count) const {
        check_range(offset, count);  // before allocating: `count` may come from a file
        std::vector<std::byte> out(count);
        read(offset, std::span<std::byte>(out));
        return out;
    }
    /// The whole file as it was sized at opening.
    [[nodiscard]] std::vector<std::byte> read_all() const { return read(0, size_); }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    void check_range(std::uint64_t offset, std::size_t count) const {
        if (offset > size_ || count > size_ - offset)
            throw error(path_.string(), "bytes [" + std::to_string(offset) + ", +" + std::to_string(count) +
                                            ") lie past its end (" + std::to_string(size_) + " bytes)");
    }

    std::filesystem::path path_;
    int fd_ = -1;
    std::size_t size_ = 0;
};

}  // namespace stemshare::io
