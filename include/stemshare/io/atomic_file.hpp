#pragma once
/// \file
/// `io::atomic_file`: writes a file so that readers see either the old file whole or the new one
/// whole. Bytes go to a temporary file beside the target (same folder, so the rename cannot cross
/// file systems), which is fsync'ed and renamed over the target; then the folder is fsync'ed so the
/// rename survives a power cut. A failed write (full disk, EFBIG past a file-size limit, an I/O
/// error) throws `stemshare::error` naming the target and the reason, removes the temporary file
/// and leaves the old file as it was. Every file stemshare writes (weights, M-Package manifests,
/// plans, latency tables, results) goes through here.
///
/// A process over its RLIMIT_FSIZE gets SIGXFSZ, which kills it unless ignored; a program that
/// wants the named error instead ignores SIGXFSZ (the tests do, in a child process).

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <stemshare/core/error.hpp>

namespace stemshare::io {

class atomic_file {
public:
    /// Creates the temporary file for `path`. `where` names the target in errors (default: path).
    explicit atomic_file(std::filesystem::path path, std::string where = {})
        : path_(std::move(path)), where_(where.empty() ? path_.string() : std::move(where)) {
        tmp_ = path_;
        // Unique per process and per writer: two writers of one target never share a temporary.
        static std::atomic<unsigned> serial{0};
        tmp_ += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(serial++);
        fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd_ < 0)
            throw error(where_, "cannot create the temporary file '" + tmp_.string() +
                                    "': " + std::strerror(errno));
    }
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;
    /// Not committed: the temporary file is removed, the target untouched.
    ~atomic_file() { discard(); }

    /// Appends `bytes`; throws (and discards the temporary file) when they cannot all be written.
    void write(std::span<const std::byte> bytes) {
        if (fd_ < 0) throw error(where_, "write after commit or failure");
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ::ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) fail("write failed after " + std::to_string(written_ + done) + " bytes");
            done += static_cast<std::size_t>(n);
        }
        written_ += done;
    }
    void write(std::string_view text) { write(std::as_bytes(std::span(text.data(), text.size()))); }

    /// Flushes the bytes to disk and renames the temporary file over the target.
    void commit() {
        if (fd_ < 0) throw error(where_, "commit after commit or failure");
        if (::fsync(fd_) != 0) fail("fsync failed");
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) fail_closed("close failed");
        if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail_closed("cannot rename it into place");
        // The rename is durable only once the folder is: a failure here leaves the new file in place.
        const std::filesystem::path dir = path_.has_parent_path() ? path_.parent_path() : ".";
        const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            ::fsync(dfd);
            ::close(dfd);
        }
        committed_ = true;
    }

private:
    [[noreturn]] void fail(const std::string& what) {
        const int e = errno;
        discard();
        throw error(where_, what + " (" + std::strerror(e) + "); the previous file, if any, is unchanged");
    }
    [[noreturn]] void fail_closed(const std::string& what) {
        const int e = errno;
        ::unlink(tmp_.c_str());
        throw error(where_, what + " (" + std::strerror(e) + "); the previous file, if any, is unchanged");
    }
    void discard() noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
        if (!committed_) ::unlink(tmp_.c_str());
    }

    std::filesystem::path path_;
    std::string where_;
    std::filesystem::path tmp_;
    int fd_ = -1;
    std::size_t written_ = 0;
    bool committed_ = false;
};

/// Writes `text` to `path` atomically (see `atomic_file`).
inline void write_file_atomically(const std::filesystem::path& path, std::string_view text,
                                  std::string where = {}) {
    atomic_file f(path, std::move(where));
    f.write(text);
    f.commit();
}

}  // namespace stemshare::io
