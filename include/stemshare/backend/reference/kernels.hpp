#pragma once
/// \file
/// Naive, obviously-correct kernels on plain NCHW f32 tensors, accumulating in double. They are
/// the oracle every fast kernel is tested against, so clarity wins over speed here.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include <stemshare/layers/layer_spec.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::reference {

namespace detail {
inline std::int64_t at4(const dims& d, std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
    return ((n * d[1] + c) * d[2] + h) * d[3] + w;
}
}  // namespace detail

inline void conv2d(const conv2d_spec& s, const tensor<float>& src, std::span<const tensor<float>> params,
                   tensor<float>& dst) {
    const dims& in = src.extents();
    const dims& out = dst.extents();
    const std::int64_t in_per_group = in[1] / s.groups;
    const std::int64_t out_per_group = s.out_channels / s.groups;
    const tensor<float>& weight = params[0];
    for (std::int64_t n = 0; n < out[0]; ++n)
        for (std::int64_t o = 0; o < out[1]; ++o) {
            const std::int64_t g = o / out_per_group;
            for (std::int64_t y = 0; y < out[2]; ++y)
                for (std::int64_t x = 0; x < out[3]; ++x) {
                    double acc = s.bias ? params[1][o] : 0.0;
                    for (std::int64_t ci = 0; ci < in_per_group; ++ci)
                        for (std::int64_t ky = 0; ky < s.kernel.h; ++ky)
                            for (std::int64_t kx = 0; kx < s.kernel.w; ++kx) {
                                const std::int64_t iy = y * s.stride.h - s.padding.top + ky * s.dilation.h;
                                const std::int64_t ix = x * s.stride.w - s.padding.left + kx * s.dilation.w;
                                if (iy < 0 || iy >= in[2] || ix < 0 || ix >= in[3]) continue;
                                const double a = src[detail::at4(in, n, g * in_per_group + ci, iy, ix)];
                                const double b =
                                    weight[((o * in_per_group + ci) * s.kernel.h + ky) * s.kernel.w + kx];
                                acc += a * b;
                            }
                    dst[detail::at4(out, n, o, y, x)] = static_cast<float>(acc);
                }
        }
}

inline void dense(const dense_spec& s, const tensor<float>& src, std::span<const tensor<float>> params,
                  tensor<float>& dst) {
    const std::int64_t batch = src.extents()[0];
    const std::int64_t features = src.numel() / batch;
    for (std::int64_t n = 0; n < batch; ++n)
        for (std::int64_t o = 0; o < s.out_features; ++o) {
            double acc = s.bias ? params[1][o] : 0.0;
            for (std::int64_t i = 0; i < features; ++i)
                acc += static_cast<double>(src[n * features + i]) * params[0][o * features + i];
            dst[n * s.out_features + o] = static_cast<float>(acc);
        }
}

inline void pool2d(const pool2d_spec& s, const tensor<float>& src, tensor<float>& dst) {
    const dims& in = src.extents();
    const dims& out = dst.extents();
    for (std::int64_t n = 0; n < out[0]; ++n)
        for (std::int64_t c = 0; c < out[1]; ++c)
            for (std::int64_t y = 0; y < out[2]; ++y)
                for (std::int64_t x = 0; x < out[3]; ++x) {
                    double max = -std::numeric_limits<double>::infinity();
                    double sum = 0.0;
                    std::int64_t count = 0;
                    for (std::int64_t ky = 0; ky < s.kernel.h; ++ky)
                        for (std::int64_t kx = 0; kx < s.kernel.w; ++kx) {
                            const std::int64_t iy = y * s.stride.h - s.padding.top + ky * s.dilation.h;
                            const std::int64_t ix = x * s.stride.w - s.padding.left + kx * s.dilation.w;
                            if (iy < 0 || iy >= in[2] || ix < 0 || ix >= in[3]) continue;
                            const double v = src[detail::at4(in, n, c, iy, ix)];
                            max = std::max(max, v);
                            sum += v;
                            ++count;
                        }
                    double result = max;
                    if (s.kind == pool_kind::avg) {
                        // With count_include_pad the divisor is the window clipped to the padded input.
                        const std::int64_t y0 = y * s.stride.h - s.padding.top;
                        const std::int64_t x0 = x * s.stride.w - s.padding.left;
                        const std::int64_t ye = std::min(y0 + s.kernel.h, in[2] + s.padding.bottom);
                        const std::int64_t xe = std::min(x0 + s.kernel.w, in[3] + s.padding.right);
                        const std::int64_t window = (ye - y0) * (xe - x0);
                        result = sum / static_cast<double>(s.count_include_pad ? window : count);
                    }
                    dst[detail::at4(out, n, c, y, x)] = static_cast<float>(result);
                }
}

inline void global_avg_pool(const tensor<float>& src, tensor<float>& dst) {
    const dims& in = src.extents();
    const std::int64_t plane = in[2] * in[3];
    for (std::int64_t nc = 0; nc < in[0] * in[1]; ++nc) {
        double sum = 0.0;
        for (std::int64_t i = 0; i < plane; ++i) sum += src[nc * plane + i];
        dst[nc] = static_cast<float>(sum / static_cast<double>(plane));
    }
}

inline void batch_norm(const batch_norm_spec& s, const tensor<float>& src,
                       std::span<const tensor<float>> params, tensor<float>& dst) {
    const dims& in = src.extents();
    const std::int64_t plane = in[2] * in[3];
    for (std::int64_t n = 0; n < in[0]; ++n)
        for (std::int64_t c = 0; c < in[1]; ++c) {
            const double inv_std = 1.0 / std::sqrt(static_cast<double>(params[3][c]) + s.epsilon);
            for (std::int64_t i = 0; i < plane; ++i) {
                const std::int64_t at = (n * in[1] + c) * plane + i;
                dst[at] = static_cast<float>(
                    (src[at] - static_cast<double>(params[2][c])) * inv_std * params[0][c] + params[1][c]);
            }
        }
}

inline float activate(activation_kind kind, float v) {
    switch (kind) {
        case activation_kind::relu:
            return std::max(v, 0.0F);
        case activation_kind::relu6:
            return std::min(std::max(v, 0.0F), 6.0F);
        case activation_kind::sigmoid:
            return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
    }
    return v;
}

inline void activation(const activation_spec& s, const tensor<float>& src, tensor<float>& dst) {
    for (std::int64_t i = 0; i < src.numel(); ++i) dst[i] = activate(s.kind, src[i]);
}

inline float gate(const gate_activation_spec& s, float v) {
    const double x = v;
    switch (s.kind) {
        case gate_kind::hard_sigmoid:
            return static_cast<float>(std::clamp(static_cast<double>(s.alpha) * x + s.beta, 0.0, 1.0));
        case gate_kind::hard_swish:
            return static_cast<float>(x * std::clamp(x + 3.0, 0.0, 6.0) / 6.0);
        case gate_kind::silu:
            return static_cast<float>(x / (1.0 + std::exp(-x)));
    }
    return v;
}

inline void gate_activation(const gate_activation_spec& s, const tensor<float>& src, tensor<float>& dst) {
    for (std::int64_t i = 0; i < src.numel(); ++i) dst[i] = gate(s, src[i]);
}

inline void softmax(const tensor<float>& src, tensor<float>& dst) {
    const dims& in = src.extents();
    const std::int64_t plane = in[2] * in[3];
    for (std::int64_t n = 0; n < in[0]; ++n)
        for (std::int64_t i = 0; i < plane; ++i) {
            double max = -std::numeric_limits<double>::infinity();
            for (std::int64_t c = 0; c < in[1]; ++c)
                max = std::max(max, static_cast<double>(src[(n * in[1] + c) * plane + i]));
            double sum = 0.0;
            for (std::int64_t c = 0; c < in[1]; ++c) sum += std::exp(src[(n * in[1] + c) * plane + i] - max);
            for (std::int64_t c = 0; c < in[1]; ++c) {
                const std::int64_t at = (n * in[1] + c) * plane + i;
                dst[at] = static_cast<float>(std::exp(src[at] - max) / sum);
            }
        }
}

inline void add(std::span<const tensor<float>* const> srcs, tensor<float>& dst) {
    for (std::int64_t i = 0; i < dst.numel(); ++i) {
        double sum = 0.0;
        for (const auto* s : srcs) sum += (*s)[i];
        dst[i] = static_cast<float>(sum);
    }
}

/// dst = a * b, b of a's shape or {N, c, 1, 1} (one factor per image and channel).
inline void multiply(const tensor<float>& a, const tensor<float>& b, tensor<float>& dst) {
    const dims& out = dst.extents();
    const std::int64_t plane = out[2] * out[3];
    const bool per_channel = b.numel() != a.numel();
    for (std::int64_t i = 0; i < dst.numel(); ++i) {
        const double factor = per_channel ? b[i / plane] : b[i];
        dst[i] = static_cast<float>(static_cast<double>(a[i]) * factor);
    }
}

/// dst channel o = src channel `s.source_channel(o, C)` (ShuffleNet's transpose of groups).
inline void channel_shuffle(const channel_shuffle_spec& s, const tensor<float>& src, tensor<float>& dst) {
    const dims& in = src.extents();
    const std::int64_t plane = in[2] * in[3];
    for (std::int64_t n = 0; n < in[0]; ++n)
        for (std::int64_t o = 0; o < in[1]; ++o)
            std::copy_n(src.data() + (n * in[1] + s.source_channel(o, in[1])) * plane, plane,
                        dst.data() + (n * in[1] + o) * plane);
}

/// dst = channels [begin, begin + count) of src.
inline void channel_slice(const channel_slice_spec& s, const tensor<float>& src, tensor<float>& dst) {
    const dims& in = src.extents();
    const std::int64_t plane = in[2] * in[3];
    for (std::int64_t n = 0; n < in[0]; ++n)
        std::copy_n(src.data() + (n * in[1] + s.begin) * plane, s.count * plane,
                    dst.data() + n * s.count * plane);
}

inline void concat(std::span<const tensor<float>* const> srcs, tensor<float>& dst) {
    const dims& out = dst.extents();
    const std::int64_t plane = out[2] * out[3];
    for (std::int64_t n = 0; n < out[0]; ++n) {
        std::int64_t c0 = 0;
        for (const auto* s : srcs) {
            const std::int64_t channels = s->extents()[1];
            std::copy_n(s->data() + n * channels * plane, channels * plane,
                        dst.data() + (n * out[1] + c0) * plane);
            c0 += channels;
        }
    }
}

}  // namespace stemshare::reference
