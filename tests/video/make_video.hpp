#pragma once
// Small test videos made with the `ffmpeg` tool from frames the test computes: raw grey bytes go
// to a file, ffmpeg encodes them. Nothing is downloaded.

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace stemshare::test {

/// True when the `ffmpeg` tool runs here.
inline bool have_ffmpeg() {
    static const bool found = std::system("ffmpeg -hide_banner -version > /dev/null 2>&1") == 0;
    return found;
}

/// A fresh folder under the temp directory for one test case.
inline std::filesystem::path video_scratch(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("stemshare-video-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

/// Pixel value of frame k at column x, row y.
using grey_pattern = std::function<std::uint8_t(int k, int x, int y)>;

/// Encodes `frames` grey frames of `width` x `height` at `fps` into `out` with `codec_args`
/// (e.g. "-c:v ffv1", lossless, or "-c:v mpeg4 -pix_fmt yuv420p").
inline void make_grey_video(const std::filesystem::path& out, int width, int height, int frames, double fps,
                            const grey_pattern& pattern, const std::string& codec_args = "-c:v ffv1") {
    const std::filesystem::path raw = out.string() + ".grey";
    {
        std::ofstream f(raw, std::ios::binary);
        std::vector<char> frame(static_cast<std::size_t>(width) * static_cast<std::size_t>(height));
        for (int k = 0; k < frames; ++k) {
            for (int y = 0; y < height; ++y)
                for (int x = 0; x < width; ++x)
                    frame[static_cast<std::size_t>(y * width + x)] = static_cast<char>(pattern(k, x, y));
            f.write(frame.data(), static_cast<std::streamsize>(frame.size()));
        }
    }
    const std::string command = "ffmpeg -nostdin -y -loglevel error -f rawvideo -pix_fmt gray -s " +
                                std::to_string(width) + "x" + std::to_string(height) + " -r " +
                                std::to_string(fps) + " -i '" + raw.string() + "' " + codec_args + " '" +
                                out.string() + "'";
    REQUIRE_MESSAGE(std::system(command.c_str()) == 0, command);
    std::filesystem::remove(raw);
}

/// The bytes of `path`.
inline std::string file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace stemshare::test
