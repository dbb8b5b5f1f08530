#pragma once
/// \file
/// `video_frame`: one decoded frame, converted to the apps' input: a plain {1, c, h, w} float
/// tensor with values in [0, 1], and where the frame sits in the stream.

#include <cstdint>

#include <stemshare/tensor/tensor.hpp>

namespace stemshare::video {

struct video_frame {
    /// {1, channels, height, width}, plain layout, 0 = black and 1 = white (grey), or R, G, B planes.
    tensor<float> pixels;
    /// Decode order, from 0.
    std::int64_t index = -1;
    /// Presentation time in seconds from the stream's start, from the stream's timestamps (index /
    /// frame rate when the stream has none).
    double seconds = 0.0;
};

}  // namespace stemshare::video
