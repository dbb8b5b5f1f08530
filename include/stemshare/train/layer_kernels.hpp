#pragma once
/// \file
/// Forward and backward kernels of the layers a trainable suffix may hold, on plain NCHW f32
/// batches. Forward results match `reference::` (the tests check it); backward kernels write the
/// input gradient (when asked) and *overwrite* the parameter gradients, in `params(spec)` order.
///
/// Convolutions use im2col + `train::gemm` (oneDNN sgemm) per image and group, except depthwise
/// ones (one input channel per group), which loop directly: a 1 x 9 GEMM per channel would be all
/// call overhead.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include <stemshare/layers/layer_spec.hpp>
#include <stemshare/tensor/tensor.hpp>
#include <stemshare/train/gemm.hpp>

namespace stemshare::train {

namespace detail {

struct conv_geometry {
    std::int64_t batch, in_c, in_h, in_w, out_c, out_h, out_w, in_per_group, out_per_group, patch;
};

inline conv_geometry geometry(const conv2d_spec& s, const dims& in, const dims& out) {
    const std::int64_t ipg = in[1] / s.groups;
    return {in[0],
            in[1],
            in[2],
            in[3],
            out[1],
            out[2],
            out[3],
            ipg,
            s.out_channels / s.groups,
            ipg * s.kernel.h * s.kernel.w};
}

inline bool is_pointwise(const conv2d_spec& s) {
    return s.kernel.h == 1 && s.kernel.w == 1 && s.stride.h == 1 && s.stride.w == 1 &&
           s.padding == padding4{0};
}

/// cols[patch][out_h * out_w] for the input channels [c0, c0 + in_per_group) of one image.
inline void im2col(const conv2d_spec& s, const conv_geometry& g, const float* image, std::int64_t c0,
                   float* cols) {
    const std::int64_t plane = g.out_h * g.out_w;
    for (std::int64_t ci = 0; ci < g.in_per_group; ++ci)
        for (std::int64_t ky = 0; ky < s.kernel.h; ++ky)
            for (std::int64_t kx = 0; kx < s.kernel.w; ++kx) {
                float* row = cols + ((ci * s.kernel.h + ky) * s.kernel.w + kx) * plane;
                const float* channel = image + (c0 + ci) * g.in_h * g.in_w;
                for (std::int64_t oy = 0; oy < g.out_h; ++oy) {
                    const std::int64_t iy = oy * s.stride.h - s.padding.top + ky;
                    float* dst = row + oy * g.out_w;
                    if (iy < 0 || iy >= g.in_h) {
                        std::fill_n(dst, g.out_w, 0.0F);
                        continue;
                    }
                    for (std::int64_t ox = 0; ox < g.out_w; ++ox) {
                        const std::int64_t ix = ox * s.stride.w - s.padding.left + kx;
                        dst[ox] = (ix < 0 || ix >= g.in_w) ? 0.0F : channel[iy * g.in_w + ix];
                    }
                }
            }
}

/// The transpose of im2col: adds cols back onto the image's channels [c0, c0 + in_per_group).
inline void col2im_add(const conv2d_spec& s, const conv_geometry& g, const float* cols, std::int64_t c0,
                       float* image) {
    const std::int64_t plane = g.out_h * g.out_w;
    for (std::int64_t ci = 0; ci < g.in_per_group; ++ci)
        for (std::int64_t ky = 0; ky < s.kernel.h; ++ky)
            for (std::int64_t kx = 0; kx < s.kernel.w; ++kx) {
                const float* row = cols + ((ci * s.kernel.h + ky) * s.kernel.w + kx) * plane;
                float* channel = image + (c0 + ci) * g.in_h * g.in_w;
                for (std::int64_t oy = 0; oy < g.out_h; ++oy) {
                    const std::int64_t iy = oy * s.stride.h - s.padding.top + ky;
                    if (iy < 0 || iy >= g.in_h) continue;
                    for (std::int64_t ox = 0; ox < g.out_w; ++ox) {
                        const std::int64_t ix = ox * s.stride.w - s.padding.left + kx;
                        if (ix >= 0 && ix < g.in_w) channel[iy * g.in_w + ix] += row[oy * g.out_w + ox];
                    }
                }
            }
}

/// Output rows [lo, hi) whose input row oy*stride - pad + k lies inside [0, in).
inline void valid_range(std::int64_t out, std::int64_t in, std::int64_t stride, std::int64_t pad,
                        std::int64_t k, std::int64_t& lo, std::int64_t& hi) {
    lo = 0;
    while (lo < out && lo * stride - pad + k < 0) ++lo;
    hi = out;
    while (hi > lo && (hi - 1) * stride - pad + k >= in) --hi;
}

inline void depthwise_forward(const conv2d_spec& s, const conv_geometry& g, const float* x, const float* w,
                              const float* bias, float* y) {
    const std::int64_t in_plane = g.in_h * g.in_w;
    const std::int64_t out_plane = g.out_h * g.out_w;
    for (std::int64_t n = 0; n < g.batch; ++n)
        for (std::int64_t c = 0; c < g.out_c; ++c) {
            const float* src = x + (n * g.in_c + c) * in_plane;
            float* dst = y + (n * g.out_c + c) * out_plane;
            std::fill_n(dst, out_plane, bias != nullptr ? bias[c] : 0.0F);
            for (std::int64_t ky = 0; ky < s.kernel.h; ++ky) {
                std::int64_t y0 = 0;
                std::int64_t y1 = 0;
                valid_range(g.out_h, g.in_h, s.stride.h, s.padding.top, ky, y0, y1);
                for (std::int64_t kx = 0; kx < s.kernel.w; ++kx) {
                    std::int64_t x0 = 0;
                    std::int64_t x1 = 0;
                    valid_range(g.out_w, g.in_w, s.stride.w, s.padding.left, kx, x0, x1);
                    const float wv = w[(c * s.kernel.h + ky) * s.kernel.w + kx];
                    for (std::int64_t oy = y0; oy < y1; ++oy) {
                        // Signed offset: for the first valid column it may point left of the row.
                        const std::int64_t base =
                            (oy * s.stride.h - s.padding.top + ky) * g.in_w - s.padding.left + kx;
                        float* out = dst + oy * g.out_w;
                        for (std::int64_t ox = x0; ox < x1; ++ox) out[ox] += wv * src[base + ox * s.stride.w];
                    }
                }
            }
        }
}

inline void depthwise_backward(const conv2d_spec& s, const conv_geometry& g, const float* x, const float* w,
                               const float* dy, float* dx, float* dw) {
    const std::int64_t in_plane = g.in_h * g.in_w;
    const std::int64_t out_plane = g.out_h * g.out_w;
    for (std::int64_t n = 0; n < g.batch; ++n)
        for (std::int64_t c = 0; c < g.out_c; ++c) {
            const float* src = x + (n * g.in_c + c) * in_plane;
            const float* grad = dy + (n * g.out_c + c) * out_plane;
            float* dsrc = dx != nullptr ? dx + (n * g.in_c + c) * in_plane : nullptr;
            for (std::int64_t ky = 0; ky < s.kernel.h; ++ky) {
                std::int64_t y0 = 0;
                std::int64_t y1 = 0;
                valid_range(g.out_h, g.in_h, s.stride.h, s.padding.top, ky, y0, y1);
                for (std::int64_t kx = 0; kx < s.kernel.w; ++kx) {
                    std::int64_t x0 = 0;
                    std::int64_t x1 = 0;
                    valid_range(g.out_w, g.in_w, s.stride.w, s.padding.left, kx, x0, x1);
                    const std::int64_t wi = (c * s.kernel.h + ky) * s.kernel.w + kx;
                    float acc = 0.0F;
                    for (std::int64_t oy = y0; oy < y1; ++oy) {
                        const std::int64_t base =
                            (oy * s.stride.h - s.padding.top + ky) * g.in_w - s.padding.left + kx;
                        const float* go = grad + oy * g.out_w;
                        for (std::int64_t ox = x0; ox < x1; ++ox) acc += go[ox] * src[base + ox * s.stride.w];
                        if (dsrc != nullptr)
                            for (std::int64_t ox = x0; ox < x1; ++ox)
                                dsrc[base + ox * s.stride.w] += w[wi] * go[ox];
                    }
                    dw[wi] += acc;
                }
            }
        }
}

}  // namespace detail

/// y = conv(x) (+ bias). x {N, C, H, W}, y {N, O, OH, OW}.
inline void conv2d_forward(const conv2d_spec& s, const tensor<float>& x, std::span<const tensor<float>> p,
                           tensor<float>& y) {
    const auto g = detail::geometry(s, x.extents(), y.extents());
    const float* bias = s.bias ? p[1].data() : nullptr;
    if (g.in_per_group == 1 && g.out_per_group == 1) {
        detail::depthwise_forward(s, g, x.data(), p[0].data(), bias, y.data());
        return;
    }
    const std::int64_t plane = g.out_h * g.out_w;
    const bool pointwise = detail::is_pointwise(s);
    std::vector<float> cols(pointwise ? 0 : static_cast<std::size_t>(g.patch * plane));
    for (std::int64_t n = 0; n < g.batch; ++n)
        for (std::int64_t grp = 0; grp < s.groups; ++grp) {
            const float* image = x.data() + n * g.in_c * g.in_h * g.in_w;
            const float* b = image + grp * g.in_per_group * plane;
            if (!pointwise) {
                detail::im2col(s, g, image, grp * g.in_per_group, cols.data());
                b = cols.data();
            }
            float* out = y.data() + (n * g.out_c + grp * g.out_per_group) * plane;
            gemm(false, false, g.out_per_group, plane, g.patch, 1.0F,
                 p[0].data() + grp * g.out_per_group * g.patch, g.patch, b, plane, 0.0F, out, plane);
            if (bias != nullptr)
                for (std::int64_t o = 0; o < g.out_per_group; ++o) {
                    const float v = bias[grp * g.out_per_group + o];
                    for (std::int64_t i = 0; i < plane; ++i) out[o * plane + i] += v;
                }
        }
}

/// Gradients of conv2d: dx (skipped when null), dp[0] = dweight, dp[1] = dbias.
inline void conv2d_backward(const conv2d_spec& s, const tensor<float>& x, std::span<const tensor<float>> p,
                            const tensor<float>& dy, tensor<float>* dx, std::span<tensor<float>> dp) {
    const auto g = detail::geometry(s, x.extents(), dy.extents());
    const std::int64_t plane = g.out_h * g.out_w;
    for (auto& t : dp) std::fill_n(t.data(), t.numel(), 0.0F);
    if (dx != nullptr) std::fill_n(dx->data(), dx->numel(), 0.0F);
    if (s.bias)
        for (std::int64_t n = 0; n < g.batch; ++n)
            for (std::int64_t o = 0; o < g.out_c; ++o) {
                const float* row = dy.data() + (n * g.out_c + o) * plane;
                float acc = 0.0F;
                for (std::int64_t i = 0; i < plane; ++i) acc += row[i];
                dp[1][o] += acc;
            }
    if (g.in_per_group == 1 && g.out_per_group == 1) {
        detail::depthwise_backward(s, g, x.data(), p[0].data(), dy.data(),
                                   dx != nullptr ? dx->data() : nullptr, dp[0].data());
        return;
    }
    const bool pointwise = detail::is_pointwise(s);
    std::vector<float> cols(pointwise ? 0 : static_cast<std::size_t>(g.patch * plane));
    std::vector<float> dcols(pointwise || dx == nullptr ? 0 : static_cast<std::size_t>(g.patch * plane));
    const std::int64_t image_size = g.in_c * g.in_h * g.in_w;
    for (std::int64_t n = 0; n < g.batch; ++n)
        for (std::int64_t grp = 0; grp < s.groups; ++grp) {
            const float* image = x.data() + n * image_size;
            const float* b = image + grp * g.in_per_group * plane;
            if (!pointwise) {
                detail::im2col(s, g, image, grp * g.in_per_group, cols.data());
                b = cols.data();
            }
            const float* grad = dy.data() + (n * g.out_c + grp * g.out_per_group) * plane;
            const float* w = p[0].data() + grp * g.out_per_group * g.patch;
            gemm(false, true, g.out_per_group, g.patch, plane, 1.0F, grad, plane, b, plane, 1.0F,
                 dp[0].data() + grp * g.out_per_group * g.patch, g.patch);
            if (dx == nullptr) continue;
            float* dimage = dx->data() + n * image_size;
            if (pointwise) {
                gemm(true, false, g.patch, plane, g.out_per_group, 1.0F, w, g.patch, grad, plane, 1.0F,
                     dimage + grp * g.in_per_group * plane, plane);
            } else {
                gemm(true, false, g.patch, plane, g.out_per_group, 1.0F, w, g.patch, grad, plane, 0.0F,
                     dcols.data(), plane);
                detail::col2im_add(s, g, dcols.data(), grp * g.in_per_group, dimage);
            }
        }
}

/// y = x W^T + b with x read as {N, features} in NCHW flatten order.
inline void dense_forward(const dense_spec& s, const tensor<float>& x, std::span<const tensor<float>> p,
                          tensor<float>& y) {
    const std::int64_t batch = x.extents()[0];
    const std::int64_t features = x.numel() / batch;
    gemm(false, true, batch, s.out_features, features, 1.0F, x.data(), features, p[0].data(), features, 0.0F,
         y.data(), s.out_features);
    if (s.bias)
        for (std::int64_t n = 0; n < batch; ++n)
            for (std::int64_t o = 0; o < s.out_features; ++o) y[n * s.out_features + o] += p[1][o];
}

inline void dense_backward(const dense_spec& s, const tensor<float>& x, std::span<const tensor<float>> p,
                           const tensor<float>& dy, tensor<float>* dx, std::span<tensor<float>> dp) {
    const std::int64_t batch = x.extents()[0];
    const std::int64_t features = x.numel() / batch;
    gemm(true, false, s.out_features, features, batch, 1.0F, dy.data(), s.out_features, x.data(), features,
         0.0F, dp[0].data(), features);
    if (s.bias) {
        std::fill_n(dp[1].data(), dp[1].numel(), 0.0F);
        for (std::int64_t n = 0; n < batch; ++n)
            for (std::int64_t o = 0; o < s.out_features; ++o) dp[1][o] += dy[n * s.out_features + o];
    }
    if (dx != nullptr)
        gemm(false, false, batch, features, s.out_features, 1.0F, dy.data(), s.out_features, p[0].data(),
             features, 0.0F, dx->data(), features);
}

/// How a batch-norm layer behaves while training.
enum class batch_norm_mode : std::uint8_t {
    /// Inference behaviour: the running statistics are constants, only weight and bias learn.
    /// The right choice for fine-tuning with small batches: training and deployment agree exactly.
    frozen,
    /// PyTorch's train(): normalise by the batch's own statistics and update the running ones.
    batch_statistics,
};

/// Per-channel statistics a batch-norm forward pass leaves for its backward pass.
struct batch_norm_cache {
    std::vector<double> mean;
    std::vector<double> inv_std;
};

/// Batch norm forward. In `batch_statistics` mode with `update_running` it also moves the running
/// mean and (unbiased) variance towards the batch's by `momentum`, as PyTorch does.
inline void batch_norm_forward(const batch_norm_spec& s, batch_norm_mode mode, const tensor<float>& x,
                               std::span<tensor<float>> p, tensor<float>& y, batch_norm_cache& cache,
                               bool update_running = false, float momentum = 0.1F) {
    const dims& d = x.extents();
    const std::int64_t channels = d[1];
    const std::int64_t plane = d[2] * d[3];
    const std::int64_t count = d[0] * plane;
    cache.mean.assign(static_cast<std::size_t>(channels), 0.0);
    cache.inv_std.assign(static_cast<std::size_t>(channels), 0.0);
    for (std::int64_t c = 0; c < channels; ++c) {
        const auto ci = static_cast<std::size_t>(c);
        if (mode == batch_norm_mode::frozen) {
            cache.mean[ci] = p[2][c];
            cache.inv_std[ci] = 1.0 / std::sqrt(static_cast<double>(p[3][c]) + s.epsilon);
            continue;
        }
        double sum = 0.0;
        double sq = 0.0;
        for (std::int64_t n = 0; n < d[0]; ++n) {
            const float* row = x.data() + (n * channels + c) * plane;
            for (std::int64_t i = 0; i < plane; ++i) sum += row[i];
        }
        const double mean = sum / static_cast<double>(count);
        for (std::int64_t n = 0; n < d[0]; ++n) {
            const float* row = x.data() + (n * channels + c) * plane;
            for (std::int64_t i = 0; i < plane; ++i) sq += (row[i] - mean) * (row[i] - mean);
        }
        const double var = sq / static_cast<double>(count);
        cache.mean[ci] = mean;
        cache.inv_std[ci] = 1.0 / std::sqrt(var + s.epsilon);
        if (update_running) {
            const double unbiased = count > 1 ? sq / static_cast<double>(count - 1) : var;
            p[2][c] = static_cast<float>((1.0 - momentum) * p[2][c] + momentum * mean);
            p[3][c] = static_cast<float>((1.0 - momentum) * p[3][c] + momentum * unbiased);
        }
    }
    for (std::int64_t n = 0; n < d[0]; ++n)
        for (std::int64_t c = 0; c < channels; ++c) {
            const auto ci = static_cast<std::size_t>(c);
            const auto scale = static_cast<float>(cache.inv_std[ci] * p[0][c]);
            const auto shift = static_cast<float>(p[1][c] - cache.mean[ci] * cache.inv_std[ci] * p[0][c]);
            const float* src = x.data() + (n * channels + c) * plane;
            float* dst = y.data() + (n * channels + c) * plane;
            for (std::int64_t i = 0; i < plane; ++i) dst[i] = src[i] * scale + shift;
        }
}

/// Batch norm backward: dp[0] = dweight, dp[1] = dbias; the running statistics get no gradient
/// (dp[2], dp[3] are zero). In `batch_statistics` mode dx includes the path through the batch's
/// mean and variance.
inline void batch_norm_backward(batch_norm_mode mode, const tensor<float>& x,
                                std::span<const tensor<float>> p, const batch_norm_cache& cache,
                                const tensor<float>& dy, tensor<float>* dx, std::span<tensor<float>> dp) {
    const dims& d = x.extents();
    const std::int64_t channels = d[1];
    const std::int64_t plane = d[2] * d[3];
    const auto count = static_cast<double>(d[0] * plane);
    for (auto& t : dp) std::fill_n(t.data(), t.numel(), 0.0F);
    for (std::int64_t c = 0; c < channels; ++c) {
        const auto ci = static_cast<std::size_t>(c);
        const double mean = cache.mean[ci];
        const double inv_std = cache.inv_std[ci];
        double sum_dy = 0.0;
        double sum_dy_xhat = 0.0;
        for (std::int64_t n = 0; n < d[0]; ++n) {
            const float* src = x.data() + (n * channels + c) * plane;
            const float* g = dy.data() + (n * channels + c) * plane;
            for (std::int64_t i = 0; i < plane; ++i) {
                sum_dy += g[i];
                sum_dy_xhat += g[i] * (src[i] - mean) * inv_std;
            }
        }
        dp[0][c] = static_cast<float>(sum_dy_xhat);
        dp[1][c] = static_cast<float>(sum_dy);
        if (dx == nullptr) continue;
        const double gamma = p[0][c];
        for (std::int64_t n = 0; n < d[0]; ++n) {
            const float* src = x.data() + (n * channels + c) * plane;
            const float* g = dy.data() + (n * channels + c) * plane;
            float* out = dx->data() + (n * channels + c) * plane;
            if (mode == batch_norm_mode::frozen) {
                for (std::int64_t i = 0; i < plane; ++i) out[i] = static_cast<float>(g[i] * gamma * inv_std);
            } else {
                for (std::int64_t i = 0; i < plane; ++i) {
                    const double xhat = (src[i] - mean) * inv_std;
                    out[i] = static_cast<float>(gamma * inv_std / count *
                                                (count * g[i] - sum_dy - xhat * sum_dy_xhat));
                }
            }
        }
    }
}

/// Element-wise activation gradient from the layer's input x and output y.
inline void activation_backward(const activation_spec& s, const tensor<float>& x, const tensor<float>& y,
                                const tensor<float>& dy, tensor<float>& dx) {
    const std::int64_t count = x.numel();
    switch (s.kind) {
        case activation_kind::relu:
            for (std::int64_t i = 0; i < count; ++i) dx[i] = x[i] > 0.0F ? dy[i] : 0.0F;
            break;
        case activation_kind::relu6:
            for (std::int64_t i = 0; i < count; ++i) dx[i] = (x[i] > 0.0F && x[i] < 6.0F) ? dy[i] : 0.0F;
            break;
        case activation_kind::sigmoid:
            for (std::int64_t i = 0; i < count; ++i) dx[i] = dy[i] * y[i] * (1.0F - y[i]);
            break;
    }
}

/// Pooling forward; for max pooling `argmax` receives, per output element, the flat input index
/// of the winner (ties go to the first, as in the reference kernel).
inline void pool2d_forward(const pool2d_spec& s, const tensor<float>& x, tensor<float>& y,
                           std::vector<std::int64_t>& argmax) {
    const dims& in = x.extents();
    const dims& out = y.extents();
    if (s.kind == pool_kind::max) argmax.assign(static_cast<std::size_t>(y.numel()), -1);
    std::int64_t at = 0;
    for (std::int64_t nc = 0; nc < out[0] * out[1]; ++nc)
        for (std::int64_t oy = 0; oy < out[2]; ++oy)
            for (std::int64_t ox = 0; ox < out[3]; ++ox, ++at) {
                const std::int64_t y0 = oy * s.stride.h - s.padding.top;
                const std::int64_t x0 = ox * s.stride.w - s.padding.left;
                float best = -std::numeric_limits<float>::infinity();
                std::int64_t best_at = -1;
                double sum = 0.0;
                std::int64_t count = 0;
                for (std::int64_t iy = std::max<std::int64_t>(y0, 0); iy < std::min(y0 + s.kernel.h, in[2]);
                     ++iy)
                    for (std::int64_t ix = std::max<std::int64_t>(x0, 0);
                         ix < std::min(x0 + s.kernel.w, in[3]); ++ix) {
                        const std::int64_t i = (nc * in[2] + iy) * in[3] + ix;
                        if (x[i] > best || best_at < 0) {
                            best = x[i];
                            best_at = i;
                        }
                        sum += x[i];
                        ++count;
                    }
                if (s.kind == pool_kind::max) {
                    y[at] = best;
                    argmax[static_cast<std::size_t>(at)] = best_at;
                } else {
                    const std::int64_t ye = std::min(y0 + s.kernel.h, in[2] + s.padding.bottom);
                    const std::int64_t xe = std::min(x0 + s.kernel.w, in[3] + s.padding.right);
                    const std::int64_t window = s.count_include_pad ? (ye - y0) * (xe - x0) : count;
                    y[at] = static_cast<float>(sum / static_cast<double>(window));
                }
            }
}

inline void pool2d_backward(const pool2d_spec& s, const dims& in, const std::vector<std::int64_t>& argmax,
                            const tensor<float>& dy, tensor<float>& dx) {
    std::fill_n(dx.data(), dx.numel(), 0.0F);
    const dims& out = dy.extents();
    if (s.kind == pool_kind::max) {
        for (std::int64_t i = 0; i < dy.numel(); ++i) dx[argmax[static_cast<std::size_t>(i)]] += dy[i];
        return;
    }
    std::int64_t at = 0;
    for (std::int64_t nc = 0; nc < out[0] * out[1]; ++nc)
        for (std::int64_t oy = 0; oy < out[2]; ++oy)
            for (std::int64_t ox = 0; ox < out[3]; ++ox, ++at) {
                const std::int64_t y0 = oy * s.stride.h - s.padding.top;
                const std::int64_t x0 = ox * s.stride.w - s.padding.left;
                const std::int64_t iy0 = std::max<std::int64_t>(y0, 0);
                const std::int64_t iy1 = std::min(y0 + s.kernel.h, in[2]);
                const std::int64_t ix0 = std::max<std::int64_t>(x0, 0);
                const std::int64_t ix1 = std::min(x0 + s.kernel.w, in[3]);
                const std::int64_t ye = std::min(y0 + s.kernel.h, in[2] + s.padding.bottom);
                const std::int64_t xe = std::min(x0 + s.kernel.w, in[3] + s.padding.right);
                const std::int64_t window =
                    s.count_include_pad ? (ye - y0) * (xe - x0) : (iy1 - iy0) * (ix1 - ix0);
                const float g = dy[at] / static_cast<float>(window);
                for (std::int64_t iy = iy0; iy < iy1; ++iy)
                    for (std::int64_t ix = ix0; ix < ix1; ++ix) dx[(nc * in[2] + iy) * in[3] + ix] += g;
            }
}

inline void global_avg_pool_forward(const tensor<float>& x, tensor<float>& y) {
    const dims& d = x.extents();
    const std::int64_t plane = d[2] * d[3];
    for (std::int64_t nc = 0; nc < d[0] * d[1]; ++nc) {
        float sum = 0.0F;
        for (std::int64_t i = 0; i < plane; ++i) sum += x[nc * plane + i];
        y[nc] = sum / static_cast<float>(plane);
    }
}

inline void global_avg_pool_backward(const dims& in, const tensor<float>& dy, tensor<float>& dx) {
    const std::int64_t plane = in[2] * in[3];
    for (std::int64_t nc = 0; nc < in[0] * in[1]; ++nc) {
        const float g = dy[nc] / static_cast<float>(plane);
        std::fill_n(dx.data() + nc * plane, plane, g);
    }
}

/// Softmax backward over channels from the layer's output y: dx = y * (dy - sum_c(dy * y)).
inline void softmax_backward(const tensor<float>& y, const tensor<float>& dy, tensor<float>& dx) {
    const dims& d = y.extents();
    const std::int64_t plane = d[2] * d[3];
    for (std::int64_t n = 0; n < d[0]; ++n)
        for (std::int64_t i = 0; i < plane; ++i) {
            double dot = 0.0;
            for (std::int64_t c = 0; c < d[1]; ++c) {
                const std::int64_t at = (n * d[1] + c) * plane + i;
                dot += static_cast<double>(dy[at]) * y[at];
            }
            for (std::int64_t c = 0; c < d[1]; ++c) {
                const std::int64_t at = (n * d[1] + c) * plane + i;
                dx[at] = static_cast<float>(y[at] * (dy[at] - dot));
            }
        }
}

}  // namespace stemshare::train
