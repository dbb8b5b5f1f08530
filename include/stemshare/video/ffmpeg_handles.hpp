#pragma once
/// \file
/// RAII owners of FFmpeg's objects (format context, codec context, packet, frame, scaler) and
/// FFmpeg's error codes as text. Every FFmpeg object stemshare creates lives in one of these, so
/// an error thrown half-way through opening or decoding frees everything already made.

#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libswscale/swscale.h>
}

namespace stemshare::video {

namespace detail {

struct format_closer {
    void operator()(AVFormatContext* p) const noexcept { avformat_close_input(&p); }
};
struct codec_closer {
    void operator()(AVCodecContext* p) const noexcept { avcodec_free_context(&p); }
};
struct packet_closer {
    void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
struct frame_closer {
    void operator()(AVFrame* p) const noexcept { av_frame_free(&p); }
};
struct scaler_closer {
    void operator()(SwsContext* p) const noexcept { sws_freeContext(p); }
};

}  // namespace detail

/// An opened input (avformat_open_input); closing also frees it.
using format_handle = std::unique_ptr<AVFormatContext, detail::format_closer>;
using codec_handle = std::unique_ptr<AVCodecContext, detail::codec_closer>;
using packet_handle = std::unique_ptr<AVPacket, detail::packet_closer>;
using frame_handle = std::unique_ptr<AVFrame, detail::frame_closer>;
using scaler_handle = std::unique_ptr<SwsContext, detail::scaler_closer>;

/// FFmpeg's text for error code `code` (a negative AVERROR).
[[nodiscard]] inline std::string av_error_text(int code) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    if (av_strerror(code, buf, sizeof buf) < 0) return "FFmpeg error " + std::to_string(code);
    return buf;
}

}  // namespace stemshare::video
