// Shared device helpers for the ssm_kernels CUDA backend: complex64 arithmetic on float2 and
// a block-wide sum. No system headers, so the sources compile both with nvcc and with NVRTC
// (CuPy RawModule), which is how the package loads them at run time.
#pragma once

#define SSM_BLOCK 256  // threads per block; every kernel is launched with exactly this many

__device__ __forceinline__ float2 c_add(float2 a, float2 b) {
    return make_float2(a.x + b.x, a.y + b.y);
}

__device__ __forceinline__ float2 c_sub(float2 a, float2 b) {
    return make_float2(a.x - b.x, a.y - b.y);
}

__device__ __forceinline__ float2 c_mul(float2 a, float2 b) {
    return make_float2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

// 1 / (a + ib) = (a - ib) / (a^2 + b^2). The poles sit off the evaluation points in every S4
// use, so |d|^2 neither underflows nor overflows in float32; no Smith scaling is needed.
__device__ __forceinline__ float2 c_recip(float2 d) {
    float inv = 1.0f / (d.x * d.x + d.y * d.y);
    return make_float2(d.x * inv, -d.y * inv);
}

// exp(x * t) for complex x and real t: exp(Re(x) t) (cos(Im(x) t) + i sin(Im(x) t)).
// The accurate sincosf (not __sinf) because Im(x) t reaches thousands of radians.
__device__ __forceinline__ float2 c_exp_scaled(float2 x, float t) {
    float mag = expf(x.x * t);
    float s, c;
    sincosf(x.y * t, &s, &c);
    return make_float2(mag * c, mag * s);
}

// Sum of `v` over the block; the result is valid in thread 0. `scratch` holds SSM_BLOCK / 32
// float2 values. Every thread of the block must call it (it synchronises).
__device__ __forceinline__ float2 block_sum(float2 v, float2* scratch) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v.x += __shfl_down_sync(0xffffffffu, v.x, offset);
        v.y += __shfl_down_sync(0xffffffffu, v.y, offset);
    }
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float2 total = make_float2(0.0f, 0.0f);
    if (threadIdx.x == 0) {
        for (int k = 0; k < SSM_BLOCK / 32; ++k) total = c_add(total, scratch[k]);
    }
    __syncthreads();  // scratch is reused by the next call
    return total;
}
