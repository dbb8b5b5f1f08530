#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>

#include <stemshare/core/dtype.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/tensor/tensor.hpp>

using namespace stemshare;

TEST_CASE("tensor: storage is 64-byte aligned and zero-initialised") {
    for (std::int64_t n : {1, 3, 17, 1000}) {
        tensor<float> t(dims{n, 3});
        CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % tensor_alignment == 0);
        CHECK(t.numel() == n * 3);
        for (float v : t.values()) CHECK(v == 0.0F);
    }
    tensor<bf16> b(dims{5});
    CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % tensor_alignment == 0);
}

TEST_CASE("tensor: copies are deep, moves steal") {
    tensor<float> a(dims{2, 2});
    a[3] = 7.0F;
    tensor<float> b = a;
    b[3] = 1.0F;
    CHECK(a[3] == 7.0F);
    const float* p = a.data();
    tensor<float> c = std::move(a);
    CHECK(c.data() == p);
    CHECK(c[3] == 7.0F);
}

TEST_CASE("tensor: zero or negative extents and nhwc of wrong rank are clear errors") {
    CHECK_THROWS_WITH_AS(tensor<float>(dims{2, 0, 3}), doctest::Contains("{2, 0, 3}"), error);
    CHECK_THROWS_WITH_AS(tensor<float>(dims{2, 3}, layout::nhwc), doctest::Contains("nhwc needs rank 4"),
                         error);
    tensor<float> t(dims{2, 3});
    CHECK_THROWS_WITH_AS((void)t.reshaped(dims{4, 2}), doctest::Contains("cannot view {2, 3} as {4, 2}"),
                         error);
    CHECK(t.reshaped(dims{3, 2}).extents() == dims{3, 2});
}

TEST_CASE("tensor: reshaped copies an lvalue and moves an rvalue's buffer") {
    tensor<float> t(dims{2, 3});
    t[4] = 1.5F;
    const tensor<float> copy = t.reshaped(dims{3, 2});
    CHECK(copy.data() != t.data());
    CHECK(copy[4] == 1.5F);
    CHECK(t.extents() == dims{2, 3});
    const float* buffer = t.data();
    const tensor<float> moved = std::move(t).reshaped(dims{6});
    CHECK(moved.data() == buffer);
    CHECK(moved.extents() == dims{6});
    CHECK(moved[4] == 1.5F);
    tensor<float> nhwc(dims{1, 2, 2, 2}, layout::nhwc);
    CHECK_THROWS_WITH_AS((void)std::move(nhwc).reshaped(dims{8}), doctest::Contains("nhwc needs rank 4"),
                         error);
    CHECK(!nhwc.empty());  // a refused reshape leaves the tensor as it was
}

TEST_CASE("tensor views: const view of mutable data shares memory") {
    tensor<float> t(dims{1, 2, 2, 2}, layout::nhwc);
    tensor_view<float> v = t.view();
    tensor_view<const float> cv = v;
    v[5] = 2.5F;
    CHECK(cv[5] == 2.5F);
    CHECK(cv.memory_layout() == layout::nhwc);
    CHECK(cv.extents() == dims{1, 2, 2, 2});
}

TEST_CASE("fill_uniform: deterministic per seed, within bounds") {
    tensor<float> a(dims{1000});
    tensor<float> b(dims{1000});
    fill_uniform(a.values(), 3, -2.0F, 5.0F);
    fill_uniform(b.values(), 3, -2.0F, 5.0F);
    bool differs_from_other_seed = false;
    tensor<float> c(dims{1000});
    fill_uniform(c.values(), 4, -2.0F, 5.0F);
    for (std::int64_t i = 0; i < 1000; ++i) {
        CHECK(a[i] == b[i]);
        CHECK(a[i] >= -2.0F);
        CHECK(a[i] <= 5.0F);
        differs_from_other_seed |= a[i] != c[i];
    }
    CHECK(differs_from_other_seed);
}

TEST_CASE("bf16: conversion error is within half an ulp of 8 mantissa bits") {
    tensor<float> x(dims{4096});
    fill_uniform(x.values(), 11, -100.0F, 100.0F);
    for (float v : x.values()) {
        const float back = static_cast<float>(bf16(v));
        CHECK(std::abs(back - v) <= std::abs(v) * (1.0F / 256.0F));
    }
}
