// Cauchy kernels, complex64 in and out, float32 accumulation.
//
// Layout (prepared by ssm_kernels.cuda): V, W are (B, N) contiguous, z and h are (B, L) with a
// batch stride z_stride of L, or 0 when one z row is shared by every batch element.
//
//   cauchy_sum_n:  out[b, l] = sum_n V[b, n] / (z[b, l] - W[b, n])^power      (power 1 or 2)
//                  forward (power 1) and the z-gradient (power 2).
//   cauchy_sum_l:  s1[b, n] = sum_l h[b, l] / (z[b, l] - W[b, n])
//                  s2[b, n] = sum_l h[b, l] / (z[b, l] - W[b, n])^2
//                  the V- and W-gradients (h = conj(grad_out)).
#include "common.cuh"

// One block covers SSM_BLOCK consecutive l of one batch row b; V and W of that row are staged
// through shared memory in tiles of SSM_BLOCK, so each pole is read from global memory once
// per block. Grid-stride in both l (grid.x) and b (grid.y).
extern "C" __global__ void cauchy_sum_n(const float2* __restrict__ V,
                                        const float2* __restrict__ z,
                                        const float2* __restrict__ W,
                                        float2* __restrict__ out,
                                        long long B, long long N, long long L,
                                        long long z_stride, int power) {
    __shared__ float2 sV[SSM_BLOCK];
    __shared__ float2 sW[SSM_BLOCK];
    for (long long b = blockIdx.y; b < B; b += gridDim.y) {
        for (long long l0 = (long long)blockIdx.x * SSM_BLOCK; l0 < L;
             l0 += (long long)gridDim.x * SSM_BLOCK) {
            const long long l = l0 + threadIdx.x;
            const bool active = l < L;
            const float2 zl = active ? z[b * z_stride + l] : make_float2(0.0f, 0.0f);
            float2 acc = make_float2(0.0f, 0.0f);
            for (long long n0 = 0; n0 < N; n0 += SSM_BLOCK) {
                __syncthreads();  // the previous tile is fully consumed
                if (n0 + threadIdx.x < N) {
                    sV[threadIdx.x] = V[b * N + n0 + threadIdx.x];
                    sW[threadIdx.x] = W[b * N + n0 + threadIdx.x];
                }
                __syncthreads();
                const int tile = (int)((N - n0) < SSM_BLOCK ? (N - n0) : SSM_BLOCK);
                if (active) {
                    for (int k = 0; k < tile; ++k) {
                        float2 r = c_recip(c_sub(zl, sW[k]));
                        if (power == 2) r = c_mul(r, r);
                        acc = c_add(acc, c_mul(sV[k], r));
                    }
                }
            }
            if (active) out[b * L + l] = acc;
        }
    }
}

// One block per (b, n) pair (grid-stride over pairs); its threads stride over l and the two
// partial sums are reduced across the block.
extern "C" __global__ void cauchy_sum_l(const float2* __restrict__ h,
                                        const float2* __restrict__ z,
                                        const float2* __restrict__ W,
                                        float2* __restrict__ s1,
                                        float2* __restrict__ s2,
                                        long long B, long long N, long long L,
                                        long long z_stride) {
    __shared__ float2 scratch[SSM_BLOCK / 32];
    for (long long pair = blockIdx.x; pair < B * N; pair += gridDim.x) {
        const long long b = pair / N;
        const float2 wn = W[pair];
        float2 acc1 = make_float2(0.0f, 0.0f);
        float2 acc2 = make_float2(0.0f, 0.0f);
        for (long long l = threadIdx.x; l < L; l += SSM_BLOCK) {
            const float2 r = c_recip(c_sub(z[b * z_stride + l], wn));
            const float2 hr = c_mul(h[b * L + l], r);
            acc1 = c_add(acc1, hr);
            acc2 = c_add(acc2, c_mul(hr, r));
        }
        acc1 = block_sum(acc1, scratch);
        acc2 = block_sum(acc2, scratch);
        if (threadIdx.x == 0) {
            s1[pair] = acc1;
            s2[pair] = acc2;
        }
    }
}
