// video_source: frame counts, sizes and timestamps, pixels after the resize, and every bad input
// (missing, corrupt, truncated, no video, unsupported codec) as an error naming the file, on
// videos made here with the `ffmpeg` tool.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <csignal>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>

#include <stemshare/video/video_source.hpp>

#include "make_video.hpp"
#include "support/error_of.hpp"
#include "support/skip.hpp"

using stemshare::test::error_of;
using stemshare::video::video_frame;
using stemshare::video::video_source;

namespace {

// Left half 200; right half: 4 k above row 28 (the frame number shows), 100 below.
std::uint8_t quadrants(int k, int x, int y) {
    if (x < 28) return 200;
    return static_cast<std::uint8_t>(y < 28 ? 4 * k : 100);
}

std::int64_t decode_all(video_source& src) {
    video_frame f;
    std::int64_t n = 0;
    while (src.next(f)) ++n;
    return n;
}

}  // namespace

TEST_CASE("video: decodes every frame at the asked size with the stream's timestamps") {
    STEMSHARE_SKIP_IF(!stemshare::test::have_ffmpeg(), "the ffmpeg tool is not installed");
    const auto dir = stemshare::test::video_scratch("count");
    const auto path = dir / "pattern.mkv";
    stemshare::test::make_grey_video(path, 56, 40, 20, 10.0, quadrants);

    video_source src(path.string());
    CHECK(src.info().width == 56);
    CHECK(src.info().height == 40);
    CHECK(src.info().codec == "ffv1");
    CHECK(src.info().fps == doctest::Approx(10.0));
    video_frame f;
    std::int64_t n = 0;
    while (src.next(f)) {
        CHECK(f.index == n);
        CHECK(f.pixels.extents() == stemshare::dims{1, 1, 28, 28});
        CHECK(f.seconds == doctest::Approx(static_cast<double>(n) / 10.0).epsilon(1e-6));
        ++n;
    }
    CHECK(n == 20);
    CHECK(src.frames_decoded() == 20);
    CHECK_FALSE(src.next(f));  // stays ended
    std::filesystem::remove_all(dir);
}

TEST_CASE("video: a known pattern survives conversion and the resize to 28x28") {
    STEMSHARE_SKIP_IF(!stemshare::test::have_ffmpeg(), "the ffmpeg tool is not installed");
    const auto dir = stemshare::test::video_scratch("pattern");
    const auto path = dir / "pattern.mkv";
    stemshare::test::make_grey_video(path, 56, 56, 12, 15.0, quadrants);

    for (int channels : {1, 3}) {
        CAPTURE(channels);
        video_source src(path.string(), {.width = 28, .height = 28, .channels = channels});
        video_frame f;
        int k = 0;
        while (src.next(f)) {
            REQUIRE(f.pixels.extents() == stemshare::dims{1, channels, 28, 28});
            const float* p = f.pixels.data();
            int wrong = 0;
            for (int c = 0; c < channels; ++c)
                for (int y = 0; y < 28; ++y)
                    for (int x = 0; x < 28; ++x) {
                        // A 2x area downscale of flat 2x2 blocks: each output pixel is its block.
                        const float want = static_cast<float>(quadrants(k, 2 * x, 2 * y)) / 255.0F;
                        if (std::abs(p[(c * 28 + y) * 28 + x] - want) > 1.5F / 255.0F) ++wrong;
                    }
            CHECK_MESSAGE(wrong == 0, "frame " << k);
            ++k;
        }
        CHECK(k == 12);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("video: a lossy MPEG-4 video decodes to its exact frame count") {
    STEMSHARE_SKIP_IF(!stemshare::test::have_ffmpeg(), "the ffmpeg tool is not installed");
    const auto dir = stemshare::test::video_scratch("mpeg4");
    const auto path = dir / "clip.mp4";
    stemshare::test::make_grey_video(
        path, 64, 48, 30, 25.0, [](int, int x, int) { return static_cast<std::uint8_t>(x < 32 ? 230 : 20); },
        "-c:v mpeg4 -q:v 2 -pix_fmt yuv420p");
    video_source src(path.string(), {.width = 32, .height = 24});
    CHECK(src.info().codec == "mpeg4");
    CHECK(src.info().fps == doctest::Approx(25.0));
    video_frame f;
    std::int64_t n = 0;
    double left = 0.0;
    double right = 0.0;
    while (src.next(f)) {
        CHECK(f.pixels.extents() == stemshare::dims{1, 1, 24, 32});
        left += f.pixels.data()[12 * 32 + 4];
        right += f.pixels.data()[12 * 32 + 28];
        ++n;
    }
    REQUIRE(n == 30);
    // Lossy and limited-range luma: bright stays bright, dark stays dark.
    CHECK(left / 30.0 > 0.8);
    CHECK(right / 30.0 < 0.2);
    std::filesystem::remove_all(dir);
}

TEST_CASE("video: a missing file is an error naming it") {
    const std::string path = "/nonexistent/stemshare/no-such-video.mp4";
    const std::string what = error_of([&] { video_source src(path); });
    CHECK(what.find(path) != std::string::npos);
    CHECK(what.find("cannot open") != std::string::npos);
    CHECK(what.find("No such file") != std::string::npos);
}

TEST_CASE("video: a file that is not a video is an error naming it") {
    const auto dir = stemshare::test::video_scratch("corrupt");
    const auto path = dir / "garbage.mkv";
    std::string bytes;
    for (int i = 0; i < 5000; ++i) bytes += static_cast<char>((i * 7919 + 13) % 251);
    stemshare::test::write_bytes(path, bytes);
    const std::string what = error_of([&] {
        video_source src(path.string());
        (void)decode_all(src);
    });
    CHECK(what.find(path.string()) != std::string::npos);
    CHECK(what != "(no error)");
    std::filesystem::remove_all(dir);
}

TEST_CASE("video: a truncated file is an error naming it and the frames it holds") {
    STEMSHARE_SKIP_IF(!stemshare::test::have_ffmpeg(), "the ffmpeg tool is not installed");
    const auto dir = stemshare::test::video_scratch("truncated");
    const auto path = dir / "clip.mkv";
    stemshare::test::make_grey_video(path, 56, 56, 40, 10.0, quadrants);
    const std::string whole = stemshare::test::file_bytes(path);
    stemshare::test::write_bytes(path, whole.substr(0, whole.size() / 2));
    const std::string what = error_of([&] {
        video_source src(path.string());
        (void)decode_all(src);
    });
    CHECK(what.find(path.string()) != std::string::npos);
    CHECK(what.find("truncated") != std::string::npos);
    CHECK(what.find("declares 40 frames") != std::string::npos);
    // Without the length check the same file ends cleanly after the frames it holds.
    video_source lenient(path.string(), {.require_declared_length = false});
    const std::int64_t n = decode_all(lenient);
    CHECK(n > 5);
    CHECK(n < 40);

    // An AVI cut in half loses the index FFmpeg needs to open it: an error at once.
    const auto avi = dir / "clip.avi";
    stemshare::test::make_grey_video(avi, 56, 56, 40, 10.0, quadrants);
    const std::string avi_bytes = stemshare::test::file_bytes(avi);
    stemshare::test::write_bytes(avi, avi_bytes.substr(0, avi_bytes.size() / 2));
    const std::string avi_error = error_of([&] {
        video_source src(avi.string());
        (void)decode_all(src);
    });
    CHECK(avi_error.find(avi.string()) != std::string::npos);
    CHECK(avi_error != "(no error)");
    std::filesystem::remove_all(dir);
}

TEST_CASE("video: an unsupported codec is an error naming it") {
    STEMSHARE_SKIP_IF(!stemshare::test::have_ffmpeg(), "the ffmpeg tool is not installed");
    const auto dir = stemshare::test::video_scratch("codec");
    const auto path = dir / "clip.avi";
    stemshare::test::make_grey_video(path, 56, 56, 5, 10.0, quadrants);
    // AVI names the codec by a fourcc: one no FFmpeg knows leaves the stream without a decoder.
    std::string bytes = stemshare::test::file_bytes(path);
    std::size_t patched = 0;
    for (std::size_t at = bytes.find("FFV1"); at != std::string::npos; at = bytes.find("FFV1", at)) {
        bytes.replace(at, 4, "QQZ9");
        ++patched;
    }
    REQUIRE(patched > 0);
    stemshare::test::write_bytes(path, bytes);
    const std::string what = error_of([&] { video_source src(path.string()); });
    CHECK(what.find(path.string()) != std::string::npos);
    CHECK(what.find("unsupported codec") != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("video: a file without a video stream is an error naming it") {
    STEMSHARE_SKIP_IF(!stemshare::test::have_ffmpeg(), "the ffmpeg tool is not installed");
    const auto dir = stemshare::test::video_scratch("audio");
    const auto path = dir / "tone.wav";
    const std::string command =
        "ffmpeg -nostdin -y -loglevel error -f lavfi -i sine=frequency=440:duration=0.5 '" + path.string() + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    const std::string what = error_of([&] { video_source src(path.string()); });
    CHECK(what.find(path.string()) != std::string::npos);
    CHECK(what.find("no video stream") != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("video: a live stream that ends early ends cleanly") {
    STEMSHARE_SKIP_IF(!stemshare::test::have_ffmpeg(), "the ffmpeg tool is not installed");
    const auto dir = stemshare::test::video_scratch("live");
    const auto clip = dir / "clip.nut";
    stemshare::test::make_grey_video(clip, 56, 56, 40, 10.0, quadrants);
    const std::string whole = stemshare::test::file_bytes(clip);
    // A FIFO is a stream without a declared length: the writer stops half-way and hangs up.
    const auto fifo = dir / "live.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::signal(SIGPIPE, SIG_IGN);  // a reader that stops early must fail the checks, not kill the suite
    std::thread writer([&] { stemshare::test::write_bytes(fifo, whole.substr(0, whole.size() / 2)); });
    std::int64_t n = -1;
    const std::string what = error_of([&] {
        video_source src(fifo.string());
        n = decode_all(src);
    });
    writer.join();
    CHECK(what == "(no error)");
    CHECK(n > 5);
    CHECK(n < 40);
    std::filesystem::remove_all(dir);
}
