// Vandermonde kernels, complex64 in and out, float32 accumulation.
//
// Layout (prepared by ssm_kernels.cuda): V, X are (B, N) contiguous, U is (B, L) contiguous.
//
//   vandermonde_sum_n:  out[b, l] = sum_n V[b, n] exp(X[b, n] l)
//                       forward, and the U-gradient of the transpose.
//   vandermonde_sum_l:  s[b, n] = sum_l U[b, l] exp(X[b, n] l)
//                       t[b, n] = sum_l U[b, l] l exp(X[b, n] l)      (when want_t)
//                       the transpose's forward and both backward passes' V- and X-gradients.
//
// Every power is computed directly as exp(Re(x) l) (cos(Im(x) l) + i sin(Im(x) l)), never as a
// running product, so the error does not grow with l.
#include "common.cuh"

extern "C" __global__ void vandermonde_sum_n(const float2* __restrict__ V,
                                             const float2* __restrict__ X,
                                             float2* __restrict__ out,
                                             long long B, long long N, long long L) {
    __shared__ float2 sV[SSM_BLOCK];
    __shared__ float2 sX[SSM_BLOCK];
    for (long long b = blockIdx.y; b < B; b += gridDim.y) {
        for (long long l0 = (long long)blockIdx.x * SSM_BLOCK; l0 < L;
             l0 += (long long)gridDim.x * SSM_BLOCK) {
            const long long l = l0 + threadIdx.x;
            const bool active = l < L;
            const float t = (float)l;
            float2 acc = make_float2(0.0f, 0.0f);
            for (long long n0 = 0; n0 < N; n0 += SSM_BLOCK) {
                __syncthreads();  // the previous tile is fully consumed
                if (n0 + threadIdx.x < N) {
                    sV[threadIdx.x] = V[b * N + n0 + threadIdx.x];
                    sX[threadIdx.x] = X[b * N + n0 + threadIdx.x];
                }
                __syncthreads();
                const int tile = (int)((N - n0) < SSM_BLOCK ? (N - n0) : SSM_BLOCK);
                if (active) {
                    for (int k = 0; k < tile; ++k) {
                        acc = c_add(acc, c_mul(sV[k], c_exp_scaled(sX[k], t)));
                    }
                }
            }
            if (active) out[b * L + l] = acc;
        }
    }
}

extern "C" __global__ void vandermonde_sum_l(const float2* __restrict__ U,
                                             const float2* __restrict__ X,
                                             float2* __restrict__ s,
                                             float2* __restrict__ t_out,
                                             long long B, long long N, long long L,
                                             int want_t) {
    __shared__ float2 scratch[SSM_BLOCK / 32];
    for (long long pair = blockIdx.x; pair < B * N; pair += gridDim.x) {
        const long long b = pair / N;
        const float2 xn = X[pair];
        float2 acc_s = make_float2(0.0f, 0.0f);
        float2 acc_t = make_float2(0.0f, 0.0f);
        for (long long l = threadIdx.x; l < L; l += SSM_BLOCK) {
            const float tl = (float)l;
            const float2 term = c_mul(U[b * L + l], c_exp_scaled(xn, tl));
            acc_s = c_add(acc_s, term);
            acc_t = c_add(acc_t, make_float2(term.x * tl, term.y * tl));
        }
        acc_s = block_sum(acc_s, scratch);
        if (want_t) acc_t = block_sum(acc_t, scratch);
        if (threadIdx.x == 0) {
            s[pair] = acc_s;
            if (want_t) t_out[pair] = acc_t;
        }
    }
}
