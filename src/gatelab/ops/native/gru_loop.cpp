// The GRU family's whole time loop in compiled code: forward and hand-written backward.
//
// Built on first use by gatelab/ops/native/build.py (plain C++17, no Python or torch headers) and loaded with
// ctypes. Same maths, same buffers and same plan as gatelab/ops/fused_gru.py, its Python twin; parity against
// the reference loop is tested for every variant (tests/ops/test_recurrence.py, tests/ops/test_native.py).
//
// All arrays are contiguous, row-major, time-major: xw (T, B, NX), out (T, B, H), gates (T or 1, B, G). The
// matrix products go to the BLAS that torch links (its `sgemm_`/`dgemm_`, handed over by gl_set_blas), so they
// run at torch's own efficiency and thread count; without one, a plain loop computes them.
//
// One step, in the seed's notation (z: update gate, r: reset gate; σ the gate, φ the candidate activation):
//   g_t  = σ(W_g x_t + U_g h_{t-1} + b_g)                       the gates (z and/or r), G = n_gates·H columns
//   a_t  = W_h x_t + b_h + r_t ⊙ (U_h h_{t-1} + b_hh)           mode 2, reset after
//   a_t  = W_h x_t + b_h + U_h (r_t ⊙ h_{t-1})                  mode 3, reset before
//   a_t  = W_h x_t + b_h + U_h h_{t-1}  (r ≡ 1, mode 1)   or   W_h x_t + b_h  (r ≡ 0, mode 0)
//   ĥ_t  = φ(a_t)
//   h_t  = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ ĥ_t   (carry)   |   z_t ⊙ ĥ_t   (no carry)   |   ĥ_t   (no z)
//   h_t  = h_{t-1} where the mask is 0 (past a sequence's length)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace {

template <typename T>
using gemm_fn = void (*)(const char*, const char*, const int*, const int*, const int*, const T*, const T*,
                         const int*, const T*, const int*, const T*, T*, const int*);

gemm_fn<float> g_sgemm = nullptr;
gemm_fn<double> g_dgemm = nullptr;
// MKL's packed products (float32): a matrix used in every step is packed once per sequence, as oneDNN's RNN does
using pack_size_fn = size_t (*)(const char*, const int*, const int*, const int*);
using pack_fn = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                         const int*, float*);
using compute_fn = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const int*,
                            const float*, const int*, const float*, float*, const int*);
pack_size_fn g_pack_size = nullptr;
pack_fn g_pack = nullptr;
compute_fn g_compute = nullptr;

template <typename T> gemm_fn<T> blas();
template <> gemm_fn<float> blas<float>() { return g_sgemm; }
template <> gemm_fn<double> blas<double>() { return g_dgemm; }

// C (rows × n, ldc) = A (rows × k, lda) · W (n × k, ldw)ᵀ + beta · C
template <typename T>
void mm_nt(int rows, int n, int k, const T* A, int lda, const T* W, int ldw, T* C, int ldc, T beta) {
    if (rows == 0 || n == 0) return;
    if (auto gemm = blas<T>()) {                 // column-major: Cᵀ (n × rows) = W · Aᵀ
        const T one = 1;
        gemm("T", "N", &n, &rows, &k, &one, W, &ldw, A, &lda, &beta, C, &ldc);
        return;
    }
    for (int b = 0; b < rows; ++b)
        for (int j = 0; j < n; ++j) {
            T acc = 0;
            for (int i = 0; i < k; ++i) acc += A[b * lda + i] * W[j * ldw + i];
            C[b * ldc + j] = acc + (beta == T(0) ? T(0) : beta * C[b * ldc + j]);
        }
}

// C (rows × n, ldc) = A (rows × k, lda) · M (k × n, ldm) + beta · C
template <typename T>
void mm_nn(int rows, int n, int k, const T* A, int lda, const T* M, int ldm, T* C, int ldc, T beta) {
    if (rows == 0 || n == 0) return;
    if (auto gemm = blas<T>()) {                 // column-major: Cᵀ (n × rows) = Mᵀ · Aᵀ
        const T one = 1;
        gemm("N", "N", &n, &rows, &k, &one, M, &ldm, A, &lda, &beta, C, &ldc);
        return;
    }
    for (int b = 0; b < rows; ++b) {
        T* c = C + b * ldc;
        if (beta == T(0)) std::fill(c, c + n, T(0));
        else if (beta != T(1)) for (int j = 0; j < n; ++j) c[j] *= beta;
        for (int i = 0; i < k; ++i) {
            const T a = A[b * lda + i];
            const T* m = M + i * ldm;
            for (int j = 0; j < n; ++j) c[j] += a * m[j];
        }
    }
}

// One recurrent product used at every step with the same matrix W:
//   C (rows × n) = A (rows × k) · Wᵀ + beta · C   (W: n × k, "NT"),   or   A · W + beta · C   (W: k × n, "NN").
// float32 with MKL's packed API: W is packed once here, every step then skips the packing.
// Below this many elements of W, packing costs more than it saves (measured: the lab's H = 32 training step
// 4.6× slower packed; H = 256 inference 20% faster).
constexpr long PACK_MIN_ELEMENTS = 128L * 128L;

template <typename T>
struct Product {
    bool nt;
    int rows, n, k, ldw;
    const T* W;
    std::vector<float> packed;

    Product(bool nt_, int rows_, int n_, int k_, const T* W_, int ldw_)
        : nt(nt_), rows(rows_), n(n_), k(k_), ldw(ldw_), W(W_) {
        if constexpr (std::is_same_v<T, float>) {
            if (g_pack_size && g_pack && g_compute && W && rows > 0 && (long)n * k >= PACK_MIN_ELEMENTS) {
                packed.resize(g_pack_size("A", &n, &rows, &k) / sizeof(float) + 1);
                const float one = 1;
                g_pack("A", nt ? "T" : "N", &n, &rows, &k, &one, W, &ldw, packed.data());
            }
        }
    }
    void operator()(const T* A, int lda, T* C, int ldc, T beta) const {
        if constexpr (std::is_same_v<T, float>) {
            if (!packed.empty()) {                   // column-major: Cᵀ (n × rows) = op(W) · Aᵀ
                if (rows == 0 || n == 0) return;
                g_compute("P", "N", &n, &rows, &k, packed.data(), &n, A, &lda, &beta, C, &ldc);
                return;
            }
        }
        if (nt) mm_nt(rows, n, k, A, lda, W, ldw, C, ldc, beta);
        else mm_nn(rows, n, k, A, lda, W, ldw, C, ldc, beta);
    }
};

// exp and tanh in float32, branch-free so that the compiler vectorises the loops that call them (std::exp is
// a scalar call per element: it made the forward 2× slower than torch's). exp: Cephes' expf (range reduction by
// ln 2, degree-6 polynomial, ~1 ulp); tanh: Cephes' tanhf polynomial below |a| = 0.625, 1 − 2/(e^{2a} + 1) above.
// float64 keeps the library's functions (its parity tolerance is 1e-12).
inline float exp_(float x) {
    x = std::min(std::max(x, -87.3f), 88.3f);
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   // round(x / ln 2), vectorisable
    const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return p * __builtin_bit_cast(float, (static_cast<int32_t>(n) + 127) << 23);   // 2^n
}
inline double exp_(double x) { return std::exp(x); }
inline float tanh_(float a) {
    const float z = a * a;
    float small = -5.70498872745e-3f;
    small = small * z + 2.06390887954e-2f;
    small = small * z - 5.37397155531e-2f;
    small = small * z + 1.33314422036e-1f;
    small = small * z - 3.33332819422e-1f;
    small = small * z * a + a;
    const float large = 1.0f - 2.0f / (exp_(2.0f * a) + 1.0f);
    return std::fabs(a) < 0.625f ? small : large;
}
inline double tanh_(double a) { return std::tanh(a); }

// C (n × m, ldc) += Aᵀ · M over `rows` rows: A (rows × n, lda), M (rows × m, ldm) — a weight gradient
template <typename T>
void mm_tn_acc(int rows, int n, int m, const T* A, int lda, const T* M, int ldm, T* C, int ldc) {
    if (rows == 0 || n == 0 || m == 0) return;
    if (auto gemm = blas<T>()) {                 // column-major: Cᵀ (m × n) += Mᵀ · A
        const T one = 1;
        gemm("N", "T", &m, &n, &rows, &one, M, &ldm, A, &lda, &one, C, &ldc);
        return;
    }
    for (int b = 0; b < rows; ++b)
        for (int i = 0; i < n; ++i) {
            const T a = A[b * lda + i];
            for (int j = 0; j < m; ++j) C[i * ldc + j] += a * M[b * ldm + j];
        }
}

// The activation table's kernel ids (gatelab/cells/activations.py): σ 0 sigmoid, 1 hard_sigmoid;
// φ 0 tanh, 1 relu, 2 identity; each applied in place over n values. Derivatives are taken from the outputs,
// as the backward keeps only those.
template <typename T> void sigma_(int id, T* v, long n) {
    if (id == 0)
        for (long i = 0; i < n; ++i) v[i] = T(1) / (T(1) + exp_(-v[i]));
    else
        for (long i = 0; i < n; ++i) v[i] = std::min(std::max(v[i] / T(6) + T(0.5), T(0)), T(1));
}
template <typename T> void phi_(int id, T* v, long n) {
    if (id == 0)
        for (long i = 0; i < n; ++i) v[i] = tanh_(v[i]);
    else if (id == 1)
        for (long i = 0; i < n; ++i) v[i] = v[i] > T(0) ? v[i] : T(0);
}
template <typename T> inline T sigma_grad(int id, T g) {
    return id == 0 ? g - g * g : ((g > T(0) && g < T(1)) ? T(1) / T(6) : T(0));
}
template <typename T> inline T phi_grad(int id, T c) {
    return id == 0 ? T(1) - c * c : (id == 1 ? (c > T(0) ? T(1) : T(0)) : T(1));
}

// Subnormal numbers flushed to zero while the loop runs (FTZ and DAZ in this thread's MXCSR, restored after).
// States that decay towards 0 without a carry (gru_no_update, gru_no_carry) pass through subnormals, which cost
// ~100 cycles per operation here: the lab's training step of those variants took 4–5× longer than gru's
// (12.7 vs 3.1 ms), and 2.3 ms flushed. The values lost are below 1.2e-38 (float32), 2.2e-308 (float64).
struct FlushSubnormals {
#if defined(__SSE__)
    unsigned saved = _mm_getcsr();
    FlushSubnormals() { _mm_setcsr(saved | 0x8040); }
    ~FlushSubnormals() { _mm_setcsr(saved); }
#endif
};

// The plan (gatelab.cells.gru.GRUPlan), as ints.
struct Plan {
    int n_gates, z_at, r_at, gates_read_x, gates_read_h, mode, carry, sigma, phi;
    explicit Plan(const int* p)
        : n_gates(p[0]), z_at(p[1]), r_at(p[2]), gates_read_x(p[3]), gates_read_h(p[4]), mode(p[5]),
          carry(p[6]), sigma(p[7]), phi(p[8]) {}
};
enum { X_ONLY = 0, NO_RESET = 1, RESET_AFTER = 2, RESET_BEFORE = 3 };

template <typename T>
void forward(const int* plan_ints, int steps, int B, int H, int NX, int NF, const T* xw, const T* h0,
             const uint8_t* mask, const T* uf, const T* uh, const T* bc, const T* bhh, T* out, T* gates,
             T* cand, T* uhk, int keep) {
    const FlushSubnormals flush;
    const Plan p(plan_ints);
    const int G = p.n_gates * H;
    const long BH = (long)B * H;
    std::vector<T> hu(uf ? (size_t)B * NF : 0), rh(p.mode == RESET_BEFORE ? BH : 0);
    const Product<T> u_fused(true, B, NF, H, uf, H), u_cand(true, B, H, H, uh, H);
    for (int t = 0; t < steps; ++t) {
        const long kept = keep ? t : 0;
        const T* hp = t ? out + (t - 1) * BH : h0;
        const T* x = xw + (long)t * B * NX;
        T* g = gates ? gates + kept * B * G : nullptr;
        T* o = out + t * BH;
        T* c = cand ? cand + kept * BH : o;                        // ĥ_t is h_t itself when z ≡ 1
        T* u = uhk ? uhk + kept * BH : nullptr;
        if (uf) u_fused(hp, H, hu.data(), NF, T(0));
        if (G) {                                                    // the gates: pre-activations, then σ
            for (int b = 0; b < B; ++b) {
                const T* xb = x + (long)b * NX;
                const T* hub = hu.data() + (long)b * NF;
                T* gb = g + (long)b * G;
                if (p.gates_read_x && p.gates_read_h) for (int j = 0; j < G; ++j) gb[j] = xb[j] + hub[j];
                else if (p.gates_read_x) std::memcpy(gb, xb, sizeof(T) * G);
                else if (p.gates_read_h) std::memcpy(gb, hub, sizeof(T) * G);
                else std::fill(gb, gb + G, T(0));
                if (bc) for (int j = 0; j < G; ++j) gb[j] += bc[j];
            }
            sigma_(p.sigma, g, (long)B * G);
        }
        for (int b = 0; b < B; ++b) {                               // the candidate's pre-activation a_t
            const T* xc = x + (long)b * NX + NX - H;
            const T* huc = hu.data() + (long)b * NF + NF - H;
            const T* hb = hp + (long)b * H;
            T* cb = c + (long)b * H;
            switch (p.mode) {
                case X_ONLY: std::memcpy(cb, xc, sizeof(T) * H); break;
                case NO_RESET: for (int j = 0; j < H; ++j) cb[j] = xc[j] + huc[j]; break;
                case RESET_AFTER: {
                    const T* r = g + (long)b * G + (long)p.r_at * H;
                    T* ub = u + (long)b * H;
                    if (bhh) for (int j = 0; j < H; ++j) ub[j] = huc[j] + bhh[j];
                    else std::memcpy(ub, huc, sizeof(T) * H);
                    for (int j = 0; j < H; ++j) cb[j] = xc[j] + r[j] * ub[j];
                    break;
                }
                default: {                                          // reset before: U_h (r ⊙ h) below
                    const T* r = g + (long)b * G + (long)p.r_at * H;
                    T* rb = rh.data() + (long)b * H;
                    for (int j = 0; j < H; ++j) rb[j] = r[j] * hb[j];
                    std::memcpy(cb, xc, sizeof(T) * H);
                }
            }
        }
        if (p.mode == RESET_BEFORE) u_cand(rh.data(), H, c, H, T(1));
        phi_(p.phi, c, BH);
        for (int b = 0; b < B; ++b) {                               // h_t
            const T* hb = hp + (long)b * H;
            const T* cb = c + (long)b * H;
            T* ob = o + (long)b * H;
            if (p.z_at >= 0) {
                const T* z = g + (long)b * G + (long)p.z_at * H;
                if (p.carry) for (int j = 0; j < H; ++j) ob[j] = hb[j] + z[j] * (cb[j] - hb[j]);
                else for (int j = 0; j < H; ++j) ob[j] = z[j] * cb[j];
            }
            if (mask && !mask[(long)t * B + b]) std::memcpy(ob, hb, sizeof(T) * H);
        }
    }
}

template <typename T>
void backward(const int* plan_ints, int steps, int B, int H, int NX, int NF, const T* h0, const T* out,
              const T* gates, const T* cand, const T* uhk, const uint8_t* mask, const T* uf, const T* uh,
              const T* d_out, long dout_st, long dout_sb, const T* d_last, T* d_xw, T* d_pg_own, T* d_uc, T* d_h0,
              T* d_uh) {
    const FlushSubnormals flush;
    const Plan p(plan_ints);
    const int G = p.n_gates * H;
    const long BH = (long)B * H;
    const bool has_z = p.z_at >= 0, share = has_z && p.z_at == p.r_at;
    const int pg_ld = p.gates_read_x ? NX : G;
    T* pg_all = p.gates_read_x ? d_xw : d_pg_own;                  // gate pre-activation gradients
    // ∂L/∂U_h (reset before) = Σ_t daᵀ_t (r_t ⊙ h_{t-1}), accumulated per block of steps: one product of
    // ~2048 rows per block keeps the matrix product efficient without a (T, B, H) buffer
    const int block = std::max(1, 2048 / std::max(B, 1));
    std::vector<T> d_total(BH), d_prev(BH), d_rh(p.mode == RESET_BEFORE ? BH : 0),
        rh(p.mode == RESET_BEFORE ? (size_t)std::min(block, std::max(steps, 1)) * BH : 0);
    // d_out[t, b, j] at d_out + t·dout_st + b·dout_sb + j: the layer's batch-first view needs no copy
    auto dout = [&](long t, long b) { return d_out + t * dout_st + b * dout_sb; };
    const bool via_hu = p.mode == NO_RESET || p.mode == RESET_AFTER;
    const Product<T> back_gates(false, B, H, G, p.gates_read_h && G ? uf : nullptr, H),
        back_cand(false, B, H, H, via_hu ? uf + (long)(NF - H) * H : nullptr, H),
        back_reset(false, B, H, H, p.mode == RESET_BEFORE ? uh : nullptr, H);
    for (int b = 0; b < B; ++b)
        for (int j = 0; j < H; ++j)
            d_total[(long)b * H + j] = (d_last ? d_last[(long)b * H + j] : T(0))
                                       + (d_out && steps ? dout(steps - 1, b)[j] : T(0));
    if (!cand) cand = out;
    for (int t = steps - 1; t >= 0; --t) {
        const T* hp = t ? out + (t - 1) * BH : h0;
        const T* c = cand + t * BH;
        const T* g = gates ? gates + (long)t * B * G : nullptr;
        T* da = d_xw + (long)t * B * NX + NX - H;                   // row stride NX
        T* pg = pg_all ? pg_all + (long)t * B * pg_ld : nullptr;     // row stride pg_ld
        T* uc = d_uc ? d_uc + t * BH : nullptr;
        for (int b = 0; b < B; ++b) {
            const bool on = !mask || mask[(long)t * B + b];
            for (int j = 0; j < H; ++j) {
                const long i = (long)b * H + j;
                const T s = on ? d_total[i] : T(0);
                const T cv = c[i];
                const T dphi = phi_grad(p.phi, cv);
                T dav = s * dphi;
                if (has_z) {
                    const T z = g[(long)b * G + p.z_at * H + j];
                    dav *= z;
                    pg[(long)b * pg_ld + p.z_at * H + j] = s * (p.carry ? cv - hp[i] : cv) * sigma_grad(p.sigma, z);
                }
                da[(long)b * NX + j] = dav;
                if (p.mode == RESET_AFTER) {
                    const T r = g[(long)b * G + p.r_at * H + j];
                    const T dr = dav * uhk[t * BH + i] * sigma_grad(p.sigma, r);
                    T& slot = pg[(long)b * pg_ld + p.r_at * H + j];
                    slot = share ? slot + dr : dr;
                    uc[i] = dav * r;
                }
            }
        }
        if (p.mode == RESET_BEFORE) {                               // ∂L/∂(r ⊙ h_{t-1}) = da U_h
            back_reset(da, NX, d_rh.data(), H, T(0));
            for (int b = 0; b < B; ++b)
                for (int j = 0; j < H; ++j) {
                    const long i = (long)b * H + j;
                    const T r = g[(long)b * G + p.r_at * H + j];
                    const T dr = d_rh[i] * hp[i] * sigma_grad(p.sigma, r);
                    T& slot = pg[(long)b * pg_ld + p.r_at * H + j];
                    slot = share ? slot + dr : dr;
                    rh[(t % block) * BH + i] = r * hp[i];
                }
            if (t % block == 0) {                                   // a block is complete: steps t … t + n − 1
                const int n = std::min(block, steps - t);
                mm_tn_acc(n * B, H, H, d_xw + (long)t * B * NX + NX - H, NX, rh.data(), H, d_uh, H);
            }
        }
        for (int b = 0; b < B; ++b) {                               // what flows to h_{t-1} without U
            const bool on = !mask || mask[(long)t * B + b];
            const T* following = (d_out && t > 0) ? dout(t - 1, b) : nullptr;
            for (int j = 0; j < H; ++j) {
                const long i = (long)b * H + j;
                T v = following ? following[j] : T(0);
                if (on) {
                    if (has_z && p.carry) v += d_total[i] * (T(1) - g[(long)b * G + p.z_at * H + j]);
                    if (p.mode == RESET_BEFORE) v += d_rh[i] * g[(long)b * G + p.r_at * H + j];
                } else {
                    v += d_total[i];
                }
                d_prev[i] = v;
            }
        }
        if (p.gates_read_h && G) back_gates(pg, pg_ld, d_prev.data(), H, T(1));
        if (p.mode == NO_RESET) back_cand(da, NX, d_prev.data(), H, T(1));
        if (p.mode == RESET_AFTER) back_cand(uc, H, d_prev.data(), H, T(1));
        std::swap(d_total, d_prev);
    }
    std::memcpy(d_h0, d_total.data(), sizeof(T) * BH);
}

}  // namespace

extern "C" {

int gl_abi_version() { return 3; }

void gl_set_blas(void* sgemm, void* dgemm, void* pack_size, void* pack, void* compute) {
    g_sgemm = reinterpret_cast<gemm_fn<float>>(sgemm);
    g_dgemm = reinterpret_cast<gemm_fn<double>>(dgemm);
    g_pack_size = reinterpret_cast<pack_size_fn>(pack_size);
    g_pack = reinterpret_cast<pack_fn>(pack);
    g_compute = reinterpret_cast<compute_fn>(compute);
}

#define GL_FORWARD(NAME, T)                                                                                     \
    void NAME(const int* plan, int steps, int B, int H, int NX, int NF, const T* xw, const T* h0,               \
              const uint8_t* mask, const T* uf, const T* uh, const T* bc, const T* bhh, T* out, T* gates,      \
              T* cand, T* uhk, int keep) {                                                                     \
        forward<T>(plan, steps, B, H, NX, NF, xw, h0, mask, uf, uh, bc, bhh, out, gates, cand, uhk, keep);     \
    }
#define GL_BACKWARD(NAME, T)                                                                                    \
    void NAME(const int* plan, int steps, int B, int H, int NX, int NF, const T* h0, const T* out,             \
              const T* gates, const T* cand, const T* uhk, const uint8_t* mask, const T* uf, const T* uh,      \
              const T* d_out, long dout_st, long dout_sb, const T* d_last, T* d_xw, T* d_pg, T* d_uc, T* d_h0,  \
              T* d_uh) {                                                                                       \
        backward<T>(plan, steps, B, H, NX, NF, h0, out, gates, cand, uhk, mask, uf, uh, d_out, dout_st, dout_sb, \
                    d_last, d_xw, d_pg, d_uc, d_h0, d_uh);                                                     \
    }
GL_FORWARD(gl_gru_forward_f32, float)
GL_FORWARD(gl_gru_forward_f64, double)
GL_BACKWARD(gl_gru_backward_f32, float)
GL_BACKWARD(gl_gru_backward_f64, double)

}  // extern "C"
