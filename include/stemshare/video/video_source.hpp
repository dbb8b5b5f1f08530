#pragma once
/// \file
/// `video_source`: decodes a video file, or any URL FFmpeg opens, frame by frame into the apps'
/// input: libavformat demuxes, libavcodec decodes, libswscale converts and resizes each frame to
/// `width` x `height` grey (or RGB) pixels, scaled to [0, 1].
///
/// Errors. A missing file, input FFmpeg cannot read, input without a video stream, a codec this
/// FFmpeg cannot decode and data the decoder rejects are `stemshare::error`s naming the URL and
/// the reason. A *truncated* file, one whose container declares more frames (or a longer
/// duration) than its data holds, is an error at its end too, unless
/// `video_source_options::require_declared_length` is off. A stream that declares no length (a
/// live URL, a pipe) simply ends: `next` returns false.
///
/// Timestamps come from the stream (each frame's best-effort presentation time, counted from the
/// stream's start time); only a stream without any falls back to index / frame rate.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/video/ffmpeg_handles.hpp>
#include <stemshare/video/video_frame.hpp>

extern "C" {
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
}

namespace stemshare::video {

struct video_source_options {
    /// Size of the frames `next` delivers (the apps' input).
    int width = 28;
    int height = 28;
    /// 1: grey (luma); 3: R, G, B planes.
    int channels = 1;
    /// Decoder threads (1 leaves the cores to the models).
    int decoder_threads = 1;
    /// Treat a file that ends before the length its container declares as an error (truncated).
    bool require_declared_length = true;
};

/// What the input says about itself.
struct video_info {
    std::string url;
    std::string format;  ///< container, e.g. "matroska,webm"
    std::string codec;   ///< e.g. "h264"
    int width = 0;       ///< coded frame size
    int height = 0;
    /// Frame rate the stream declares (FFmpeg's guess from the container and codec); 0 if unknown.
    double fps = 0.0;
    /// Length the container declares; 0 when it declares none (a live stream, a pipe).
    double duration_seconds = 0.0;
    std::int64_t declared_frames = 0;
};

class video_source {
public:
    /// Opens `url` (a path or any URL FFmpeg opens) and its best video stream's decoder.
    explicit video_source(std::string url, video_source_options options = {})
        : options_(options), packet_(av_packet_alloc()), decoded_(av_frame_alloc()) {
        info_.url = std::move(url);
        if (options_.width <= 0 || options_.height <= 0)
            throw error(info_.url, "output size must be positive, got " + std::to_string(options_.width) + "x" +
                                       std::to_string(options_.height));
        if (options_.channels != 1 && options_.channels != 3)
            throw error(info_.url, "channels must be 1 (grey) or 3 (RGB), got " + std::to_string(options_.channels));
        if (!packet_ || !decoded_) throw error(info_.url, "out of memory");
        open();
    }

    video_source(const video_source&) = delete;
    video_source& operator=(const video_source&) = delete;

    [[nodiscard]] const video_info& info() const noexcept { return info_; }
    [[nodiscard]] const video_source_options& options() const noexcept { return options_; }
    /// Frames delivered so far.
    [[nodiscard]] std::int64_t frames_decoded() const noexcept { return delivered_; }

    /// Decodes the next frame into `dst` (its tensor is reused when it already has the right
    /// shape). Returns false once the stream has ended; throws `stemshare::error` on corrupt data,
    /// a read error, or a truncated file (see the file comment).
    bool next(video_frame& dst) {
        while (!ended_) {
            const int got = avcodec_receive_frame(codec_.get(), decoded_.get());
            if (got == 0) {
                convert(dst);
                av_frame_unref(decoded_.get());
                return true;
            }
            if (got == AVERROR_EOF) {
                ended_ = true;
                break;
            }
            if (got != AVERROR(EAGAIN)) fail("the decoder rejects the data", got);
            feed();
        }
        check_length();
        return false;
    }

private:
    [[noreturn]] void fail(const std::string& what, int code) const {
        throw error(info_.url, what + " after " + std::to_string(delivered_) + " frames: " + av_error_text(code));
    }

    void open() {
        AVFormatContext* raw = nullptr;
        if (const int rc = avformat_open_input(&raw, info_.url.c_str(), nullptr, nullptr); rc < 0)
            throw error(info_.url, "cannot open: " + av_error_text(rc));
        format_.reset(raw);
        if (const int rc = avformat_find_stream_info(format_.get(), nullptr); rc < 0)
            throw error(info_.url, "cannot read the stream information (corrupt or not a video): " + av_error_text(rc));
        info_.format = format_->iformat != nullptr && format_->iformat->name != nullptr ? format_->iformat->name : "";

        const AVCodec* decoder = nullptr;
        const int best = av_find_best_stream(format_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
        if (best == AVERROR_STREAM_NOT_FOUND)
            throw error(info_.url, "has no video stream (format '" + info_.format + "')");
        if (best == AVERROR_DECODER_NOT_FOUND) {
            // The stream exists but no decoder does: name what the container says it holds.
            for (unsigned i = 0; i < format_->nb_streams; ++i) {
                const AVCodecParameters* par = format_->streams[i]->codecpar;
                if (par->codec_type != AVMEDIA_TYPE_VIDEO) continue;
                char tag[AV_FOURCC_MAX_STRING_SIZE] = {};
                av_fourcc_make_string(tag, par->codec_tag);
                throw error(info_.url, std::string("unsupported codec '") + avcodec_get_name(par->codec_id) +
                                           "' (tag " + tag + "): this FFmpeg has no decoder for it");
            }
            throw error(info_.url, "unsupported codec: this FFmpeg has no decoder for its video stream");
        }
        if (best < 0) throw error(info_.url, "cannot choose a video stream: " + av_error_text(best));
        stream_ = format_->streams[best];
        info_.codec = decoder->name;

        codec_.reset(avcodec_alloc_context3(decoder));
        if (!codec_) throw error(info_.url, "out of memory");
        if (const int rc = avcodec_parameters_to_context(codec_.get(), stream_->codecpar); rc < 0)
            throw error(info_.url, "bad codec parameters: " + av_error_text(rc));
        codec_->thread_count = std::max(1, options_.decoder_threads);
        if (const int rc = avcodec_open2(codec_.get(), decoder, nullptr); rc < 0)
            throw error(info_.url, "cannot open the '" + info_.codec + "' decoder: " + av_error_text(rc));
        info_.width = stream_->codecpar->width;
        info_.height = stream_->codecpar->height;
        if (info_.width <= 0 || info_.height <= 0)
            throw error(info_.url, "the video stream has no frame size (corrupt header)");

        const AVRational rate = av_guess_frame_rate(format_.get(), stream_, nullptr);
        info_.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
        if (stream_->duration != AV_NOPTS_VALUE && stream_->duration > 0)
            info_.duration_seconds = static_cast<double>(stream_->duration) * av_q2d(stream_->time_base);
        else if (format_->duration != AV_NOPTS_VALUE && format_->duration > 0 &&
                 format_->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE)
            info_.duration_seconds = static_cast<double>(format_->duration) / AV_TIME_BASE;
        info_.declared_frames = stream_->nb_frames;
        start_pts_ = stream_->start_time;
    }

    /// Sends the decoder the next packet of our stream, or the end-of-stream flush.
    void feed() {
        for (;;) {
            const int rc = av_read_frame(format_.get(), packet_.get());
            if (rc == AVERROR_EOF) {
                if (const int s = avcodec_send_packet(codec_.get(), nullptr); s < 0 && s != AVERROR_EOF)
                    fail("the decoder cannot finish", s);
                return;
            }
            if (rc < 0) fail("read error", rc);
            if (packet_->stream_index != stream_->index) {
                av_packet_unref(packet_.get());
                continue;
            }
            const int s = avcodec_send_packet(codec_.get(), packet_.get());
            av_packet_unref(packet_.get());
            if (s < 0 && s != AVERROR(EAGAIN)) fail("corrupt video data", s);
            return;
        }
    }

    void check_length() const {
        if (!options_.require_declared_length) return;
        std::int64_t expected = info_.declared_frames;
        std::int64_t slack = 1;
        if (expected <= 0 && info_.duration_seconds > 0.0 && info_.fps > 0.0) {
            expected = std::llround(info_.duration_seconds * info_.fps);
            slack = 2;  // a duration rounds to whole frames differently per container
        }
        if (expected > 0 && delivered_ + slack < expected)
            throw error(info_.url, "truncated: the container declares " + std::to_string(expected) +
                                       " frames, the data ends after " + std::to_string(delivered_));
    }

    void convert(video_frame& dst) {
        const AVFrame& f = *decoded_;
        const AVPixelFormat out_format = options_.channels == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
        scaler_.reset(sws_getCachedContext(scaler_.release(), f.width, f.height, static_cast<AVPixelFormat>(f.format),
                                           options_.width, options_.height, out_format, SWS_AREA, nullptr,
                                           nullptr, nullptr));
        if (!scaler_) {
            const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(f.format));
            throw error(info_.url, std::string("cannot convert frames of pixel format '") +
                                       (name != nullptr ? name : "unknown") + "' at frame " +
                                       std::to_string(delivered_));
        }
        const int row = options_.width * options_.channels;
        bytes_.resize(static_cast<std::size_t>(row) * static_cast<std::size_t>(options_.height));
        std::uint8_t* planes[4] = {bytes_.data(), nullptr, nullptr, nullptr};
        int strides[4] = {row, 0, 0, 0};
        if (const int h = sws_scale(scaler_.get(), f.data, f.linesize, 0, f.height, planes, strides);
            h != options_.height)
            throw error(info_.url, "scaling frame " + std::to_string(delivered_) + " failed");

        const dims want{1, options_.channels, options_.height, options_.width};
        if (dst.pixels.extents() != want) dst.pixels = tensor<float>(want);
        float* out = dst.pixels.data();
        const std::size_t plane = static_cast<std::size_t>(options_.width) * static_cast<std::size_t>(options_.height);
        const auto channels = static_cast<std::size_t>(options_.channels);
        for (std::size_t p = 0; p < plane; ++p)
            for (std::size_t c = 0; c < channels; ++c)
                out[c * plane + p] = static_cast<float>(bytes_[p * channels + c]) / 255.0F;

        dst.index = delivered_;
        const std::int64_t pts = f.best_effort_timestamp;
        if (pts != AV_NOPTS_VALUE) {
            const std::int64_t start = start_pts_ != AV_NOPTS_VALUE ? start_pts_ : 0;
            dst.seconds = static_cast<double>(pts - start) * av_q2d(stream_->time_base);
        } else {
            dst.seconds = info_.fps > 0.0 ? static_cast<double>(delivered_) / info_.fps : 0.0;
        }
        ++delivered_;
    }

    video_source_options options_;
    video_info info_;
    format_handle format_;
    codec_handle codec_;
    packet_handle packet_;
    frame_handle decoded_;
    scaler_handle scaler_;
    AVStream* stream_ = nullptr;  // owned by format_
    std::int64_t start_pts_ = AV_NOPTS_VALUE;
    std::vector<std::uint8_t> bytes_;
    std::int64_t delivered_ = 0;
    bool ended_ = false;
};

}  // namespace stemshare::video
