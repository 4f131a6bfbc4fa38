/*
 * Fused layer kernels for the WASM backend (registered by sdk/runtime/wasm-fused.ts): each is
 * one pass over tensors in the WASM heap instead of the 5–40 tfjs kernels (and their gradient
 * kernels) of the tensor path. float32 throughout; products through cblas_sgemm.
 *
 * attnFwd(q, k, v, out, probs, mask, dims)          scaled dot-product attention
 * attnBwd(dout, q, k, v, probs, dq, dk, dv, dims)   its gradient
 *   dims (Float64Array): [B, T, S, nh, kvh, D, kvLayout, causal, past, scale, hasMask]
 *   q, out, dout, dq: [B, T, nh, D]; k, v, dk, dv: [B, S, kvh, D] (kvLayout 0) or
 *   [B, kvh, S, D] (kvLayout 1, the KV cache); probs: [B, nh, T, S]; mask: [B, S] key mask
 *   (1 = attend; ignored unless hasMask). Query t may see key s when s <= past + t (causal)
 *   and the key is not masked; a query that may see no key attends uniformly to all S keys,
 *   as adding −1e9 to every score and taking the softmax does. Query head h reads KV head
 *   h / (nh / kvh) (grouped-query attention). The G = nh / kvh query heads of one KV head are
 *   handled as one [G·T, D] block, the shapes the tensor path multiplies.
 * rmsFwd(x, w, y, r, dims) / rmsBwd(dy, x, w, r, dx, dw, dims)      dims [rows, n, eps]
 *   y = x · r · w with r = 1 / sqrt(mean(x²) + eps) per row ([rows] saved for the gradient).
 * lnFwd(x, w, b, y, r, dims) / lnBwd(dy, x, w, r, dx, dw, db, dims)  dims [rows, n, eps]
 *   y = (x − mean) · r · w + b with r = 1 / sqrt(var + eps) (biased variance).
 * swigluFwd(g, u, y) / swigluBwd(dy, g, u, dg, du)    y = g · σ(g) · u
 * qgeluFwd(x, y) / qgeluBwd(dy, x, dx)                y = x · σ(1.702 x)
 * ropeFwd(x, cos, sin, y, dims) / ropeBwd(dy, cos, sin, dx, dims)   dims [rows, heads, D]
 *   rotary embedding of x [rows, heads, D] with tables [rows, D] (rotate_half's sign in sin).
 * kvAppend(cache, x, out, dims)  dims [B, past, T, kvh, D]: out [B, kvh, past + T, D] =
 *   cache [B, kvh, past, D] followed by x [B, T, kvh, D] (head-major).
 * ceFwd(x, e, s, zt, dims) / ceBwd(e, s, dy, dx, dims)   dims [N, V, target_0 … target_N−1]
 *   softmax cross-entropy of rows x [N, V]: z = x − max(row), e = exp(z), s = Σ e (row, in
 *   order), zt = z[target]; the gradient dx = (e / s − onehot(target)) · dy. Every step is the
 *   arithmetic of the tfjs WASM kernels it replaces (Max, Sub, Exp, Sum, RealDiv, Sub, Mul), so
 *   the results are theirs bit for bit: exp is musl's expf (the Arm optimized-routines
 *   algorithm, in double precision without fused multiply-adds), which the WASM backend's Exp
 *   calls, not the C library's.
 * All arrays are Float32Arrays (views into the WASM heap); sizes are checked before any write.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cblas.h>

#define CHECK(call)                                                              \
  do {                                                                           \
    if ((call) != napi_ok) {                                                     \
      napi_throw_error(env, NULL, "eraserlab_blas: N-API call failed: " #call);  \
      return NULL;                                                               \
    }                                                                            \
  } while (0)

typedef struct {
  float *p;
  size_t n;
} farr;

/* argv[i] as a Float32Array (or null/undefined when optional); 0 with a TypeError thrown. */
static int arg_f32(napi_env env, napi_value v, farr *out, const char *fn, const char *name, int optional) {
  napi_valuetype t;
  if (optional && napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) {
    out->p = NULL;
    out->n = 0;
    return 1;
  }
  bool is_ta = false;
  napi_typedarray_type type;
  napi_value ab;
  size_t off = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta || napi_get_typedarray_info(env, v, &type, &out->n, &data, &ab, &off) != napi_ok ||
      type != napi_float32_array) {
    char msg[160];
    snprintf(msg, sizeof msg, "eraserlab_blas.%s: %s must be a Float32Array", fn, name);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  out->p = (float *)data;
  return 1;
}

/* argv[i] as a Float64Array of at least `want` numbers; its length in *len when len is given. */
static int arg_dims_len(napi_env env, napi_value v, double **d, size_t want, const char *fn, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  napi_value ab;
  size_t off = 0, n = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta || napi_get_typedarray_info(env, v, &type, &n, &data, &ab, &off) != napi_ok ||
      type != napi_float64_array || n < want) {
    char msg[160];
    snprintf(msg, sizeof msg, "eraserlab_blas.%s: dims must be a Float64Array of %zu numbers", fn, want);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  *d = (double *)data;
  if (len) *len = n;
  return 1;
}

static int arg_dims(napi_env env, napi_value v, double **d, size_t want, const char *fn) { return arg_dims_len(env, v, d, want, fn, NULL); }

static int need(napi_env env, const farr *a, size_t n, const char *fn, const char *name) {
  if (a->n < n) {
    char msg[200];
    snprintf(msg, sizeof msg, "eraserlab_blas.%s: %s holds %zu values, %zu needed", fn, name, a->n, n);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

static int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return 1;
}

/* ------------------------------------------------------------------ attention */

typedef struct {
  int64_t B, T, S, nh, kvh, D, G, layout, causal, past, hasMask;
  float scale;
  int64_t ldq, ldk; /* row strides of q/out and of k/v */
} attn_dims;

static int read_attn_dims(napi_env env, napi_value v, attn_dims *a, const char *fn) {
  double *d;
  if (!arg_dims(env, v, &d, 11, fn)) return 0;
  a->B = (int64_t)d[0];
  a->T = (int64_t)d[1];
  a->S = (int64_t)d[2];
  a->nh = (int64_t)d[3];
  a->kvh = (int64_t)d[4];
  a->D = (int64_t)d[5];
  a->layout = (int64_t)d[6];
  a->causal = d[7] != 0;
  a->past = (int64_t)d[8];
  a->scale = (float)d[9];
  a->hasMask = d[10] != 0;
  if (a->B < 1 || a->T < 1 || a->S < 1 || a->nh < 1 || a->kvh < 1 || a->D < 1 || a->nh % a->kvh != 0 || a->past < 0 || a->T > INT32_MAX ||
      a->S > INT32_MAX || a->D > INT32_MAX) {
    napi_throw_range_error(env, NULL, "eraserlab_blas.attention: bad dims (need B, T, S, heads, kvHeads, headDim >= 1, heads a multiple of kvHeads)");
    return 0;
  }
  a->G = a->nh / a->kvh;
  a->ldq = a->nh * a->D;
  a->ldk = a->layout == 0 ? a->kvh * a->D : a->D;
  return 1;
}

/* Offset of KV head j of batch b at position 0. */
static inline int64_t kv_base(const attn_dims *a, int64_t b, int64_t j) {
  return a->layout == 0 ? b * a->S * a->kvh * a->D + j * a->D : (b * a->kvh + j) * a->S * a->D;
}

/* Offset of query head h of batch b at position 0 (q, out, dq). */
static inline int64_t q_base(const attn_dims *a, int64_t b, int64_t h) { return b * a->T * a->nh * a->D + h * a->D; }

static inline int allowed(const attn_dims *a, const float *mask, int64_t b, int64_t t, int64_t s) {
  if (a->causal && s > a->past + t) return 0;
  if (mask && mask[b * a->S + s] == 0.0f) return 0;
  return 1;
}

/* Softmax of one row of scores in place over the keys the query may see. */
static void softmax_row(const attn_dims *a, const float *mask, int64_t b, int64_t t, float *row) {
  const int64_t S = a->S;
  float mx = -INFINITY;
  int any = 0;
  for (int64_t s = 0; s < S; s++)
    if (allowed(a, mask, b, t, s)) {
      any = 1;
      if (row[s] > mx) mx = row[s];
    }
  if (!any) {
    const float u = 1.0f / (float)S;
    for (int64_t s = 0; s < S; s++) row[s] = u;
    return;
  }
  float sum = 0.0f;
  for (int64_t s = 0; s < S; s++) {
    if (allowed(a, mask, b, t, s)) {
      const float e = expf(row[s] - mx);
      row[s] = e;
      sum += e;
    } else {
      row[s] = 0.0f;
    }
  }
  for (int64_t s = 0; s < S; s++) row[s] /= sum;
}

static napi_value AttnFwd(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!get_args(env, info, 7, argv, "eraserlab_blas.attnFwd(q, k, v, out, probs, mask, dims): 7 arguments expected")) return NULL;
  farr q, k, v, out, probs, mask;
  attn_dims a;
  if (!arg_f32(env, argv[0], &q, "attnFwd", "q", 0) || !arg_f32(env, argv[1], &k, "attnFwd", "k", 0) || !arg_f32(env, argv[2], &v, "attnFwd", "v", 0) ||
      !arg_f32(env, argv[3], &out, "attnFwd", "out", 0) || !arg_f32(env, argv[4], &probs, "attnFwd", "probs", 0) ||
      !arg_f32(env, argv[5], &mask, "attnFwd", "mask", 1) || !read_attn_dims(env, argv[6], &a, "attnFwd"))
    return NULL;
  const int64_t nq = a.B * a.T * a.nh * a.D, nk = a.B * a.S * a.kvh * a.D, np = a.B * a.nh * a.T * a.S;
  if (!need(env, &q, nq, "attnFwd", "q") || !need(env, &k, nk, "attnFwd", "k") || !need(env, &v, nk, "attnFwd", "v") ||
      !need(env, &out, nq, "attnFwd", "out") || !need(env, &probs, np, "attnFwd", "probs") || (a.hasMask && !need(env, &mask, a.B * a.S, "attnFwd", "mask")))
    return NULL;
  const float *m = a.hasMask ? mask.p : NULL;
  const int64_t GT = a.G * a.T, D = a.D, T = a.T, S = a.S;
  float *qs = malloc(sizeof(float) * GT * D);
  if (!qs) {
    napi_throw_error(env, NULL, "eraserlab_blas.attnFwd: out of memory");
    return NULL;
  }
  for (int64_t b = 0; b < a.B; b++) {
    for (int64_t j = 0; j < a.kvh; j++) {
      /* the group's scaled queries as one [G·T, D] block */
      for (int64_t g = 0; g < a.G; g++) {
        const float *src = q.p + q_base(&a, b, j * a.G + g);
        for (int64_t t = 0; t < T; t++)
          for (int64_t d = 0; d < D; d++) qs[(g * T + t) * D + d] = src[t * a.ldq + d] * a.scale;
      }
      float *P = probs.p + (b * a.nh + j * a.G) * T * S;
      const float *kb = k.p + kv_base(&a, b, j), *vb = v.p + kv_base(&a, b, j);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)GT, (int)S, (int)D, 1.0f, qs, (int)D, kb, (int)a.ldk, 0.0f, P, (int)S);
      for (int64_t g = 0; g < a.G; g++)
        for (int64_t t = 0; t < T; t++) softmax_row(&a, m, b, t, P + (g * T + t) * S);
      for (int64_t g = 0; g < a.G; g++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)S, 1.0f, P + g * T * S, (int)S, vb, (int)a.ldk, 0.0f,
                    out.p + q_base(&a, b, j * a.G + g), (int)a.ldq);
    }
  }
  free(qs);
  return NULL;
}

static napi_value AttnBwd(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!get_args(env, info, 9, argv, "eraserlab_blas.attnBwd(dout, q, k, v, probs, dq, dk, dv, dims): 9 arguments expected")) return NULL;
  farr dout, q, k, v, probs, dq, dk, dv;
  attn_dims a;
  if (!arg_f32(env, argv[0], &dout, "attnBwd", "dout", 0) || !arg_f32(env, argv[1], &q, "attnBwd", "q", 0) || !arg_f32(env, argv[2], &k, "attnBwd", "k", 0) ||
      !arg_f32(env, argv[3], &v, "attnBwd", "v", 0) || !arg_f32(env, argv[4], &probs, "attnBwd", "probs", 0) || !arg_f32(env, argv[5], &dq, "attnBwd", "dq", 0) ||
      !arg_f32(env, argv[6], &dk, "attnBwd", "dk", 0) || !arg_f32(env, argv[7], &dv, "attnBwd", "dv", 0) || !read_attn_dims(env, argv[8], &a, "attnBwd"))
    return NULL;
  const int64_t nq = a.B * a.T * a.nh * a.D, nk = a.B * a.S * a.kvh * a.D, np = a.B * a.nh * a.T * a.S;
  if (!need(env, &dout, nq, "attnBwd", "dout") || !need(env, &q, nq, "attnBwd", "q") || !need(env, &k, nk, "attnBwd", "k") || !need(env, &v, nk, "attnBwd", "v") ||
      !need(env, &probs, np, "attnBwd", "probs") || !need(env, &dq, nq, "attnBwd", "dq") || !need(env, &dk, nk, "attnBwd", "dk") || !need(env, &dv, nk, "attnBwd", "dv"))
    return NULL;
  const int64_t GT = a.G * a.T, D = a.D, T = a.T, S = a.S;
  float *qs = malloc(sizeof(float) * GT * D), *dO = malloc(sizeof(float) * GT * D), *dS = malloc(sizeof(float) * GT * S), *dQ = malloc(sizeof(float) * GT * D);
  if (!qs || !dO || !dS || !dQ) {
    free(qs), free(dO), free(dS), free(dQ);
    napi_throw_error(env, NULL, "eraserlab_blas.attnBwd: out of memory");
    return NULL;
  }
  for (int64_t b = 0; b < a.B; b++) {
    for (int64_t j = 0; j < a.kvh; j++) {
      for (int64_t g = 0; g < a.G; g++) {
        const int64_t o = q_base(&a, b, j * a.G + g);
        for (int64_t t = 0; t < T; t++)
          for (int64_t d = 0; d < D; d++) {
            qs[(g * T + t) * D + d] = q.p[o + t * a.ldq + d] * a.scale;
            dO[(g * T + t) * D + d] = dout.p[o + t * a.ldq + d];
          }
      }
      const float *P = probs.p + (b * a.nh + j * a.G) * T * S;
      const int64_t kb = kv_base(&a, b, j);
      /* dV = Pᵀ·dO and dP = dO·Vᵀ over the whole group */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S, (int)D, (int)GT, 1.0f, P, (int)S, dO, (int)D, 0.0f, dv.p + kb, (int)a.ldk);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)GT, (int)S, (int)D, 1.0f, dO, (int)D, v.p + kb, (int)a.ldk, 0.0f, dS, (int)S);
      /* softmax gradient as tfjs writes it: P·dP − (Σ P·dP)·P */
      for (int64_t r = 0; r < GT; r++) {
        float *row = dS + r * S;
        const float *p = P + r * S;
        float dot = 0.0f;
        for (int64_t s = 0; s < S; s++) {
          row[s] = p[s] * row[s];
          dot += row[s];
        }
        for (int64_t s = 0; s < S; s++) row[s] = row[s] - dot * p[s];
      }
      /* dK = dSᵀ·Qs; dQ = (dS·K)·scale */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S, (int)D, (int)GT, 1.0f, dS, (int)S, qs, (int)D, 0.0f, dk.p + kb, (int)a.ldk);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)GT, (int)D, (int)S, 1.0f, dS, (int)S, k.p + kb, (int)a.ldk, 0.0f, dQ, (int)D);
      for (int64_t g = 0; g < a.G; g++) {
        float *dst = dq.p + q_base(&a, b, j * a.G + g);
        for (int64_t t = 0; t < T; t++)
          for (int64_t d = 0; d < D; d++) dst[t * a.ldq + d] = dQ[(g * T + t) * D + d] * a.scale;
      }
    }
  }
  free(qs), free(dO), free(dS), free(dQ);
  return NULL;
}

/* ------------------------------------------------------------------ norms */

static int read_norm_dims(napi_env env, napi_value v, int64_t *rows, int64_t *n, float *eps, const char *fn) {
  double *d;
  if (!arg_dims(env, v, &d, 3, fn)) return 0;
  *rows = (int64_t)d[0];
  *n = (int64_t)d[1];
  *eps = (float)d[2];
  if (*rows < 0 || *n < 1) {
    napi_throw_range_error(env, NULL, "eraserlab_blas: norm dims must be rows >= 0, n >= 1");
    return 0;
  }
  return 1;
}

static napi_value RmsFwd(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv, "eraserlab_blas.rmsFwd(x, w, y, r, dims): 5 arguments expected")) return NULL;
  farr x, w, y, r;
  int64_t rows, n;
  float eps;
  if (!arg_f32(env, argv[0], &x, "rmsFwd", "x", 0) || !arg_f32(env, argv[1], &w, "rmsFwd", "w", 0) || !arg_f32(env, argv[2], &y, "rmsFwd", "y", 0) ||
      !arg_f32(env, argv[3], &r, "rmsFwd", "r", 0) || !read_norm_dims(env, argv[4], &rows, &n, &eps, "rmsFwd"))
    return NULL;
  if (!need(env, &x, rows * n, "rmsFwd", "x") || !need(env, &w, n, "rmsFwd", "w") || !need(env, &y, rows * n, "rmsFwd", "y") || !need(env, &r, rows, "rmsFwd", "r"))
    return NULL;
  for (int64_t i = 0; i < rows; i++) {
    const float *xi = x.p + i * n;
    float *yi = y.p + i * n;
    float s = 0.0f;
    for (int64_t j = 0; j < n; j++) s += xi[j] * xi[j];
    const float ri = 1.0f / sqrtf(s / (float)n + eps);
    r.p[i] = ri;
    for (int64_t j = 0; j < n; j++) yi[j] = (xi[j] * ri) * w.p[j];
  }
  return NULL;
}

static napi_value RmsBwd(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!get_args(env, info, 7, argv, "eraserlab_blas.rmsBwd(dy, x, w, r, dx, dw, dims): 7 arguments expected")) return NULL;
  farr dy, x, w, r, dx, dw;
  int64_t rows, n;
  float eps;
  if (!arg_f32(env, argv[0], &dy, "rmsBwd", "dy", 0) || !arg_f32(env, argv[1], &x, "rmsBwd", "x", 0) || !arg_f32(env, argv[2], &w, "rmsBwd", "w", 0) ||
      !arg_f32(env, argv[3], &r, "rmsBwd", "r", 0) || !arg_f32(env, argv[4], &dx, "rmsBwd", "dx", 0) || !arg_f32(env, argv[5], &dw, "rmsBwd", "dw", 0) ||
      !read_norm_dims(env, argv[6], &rows, &n, &eps, "rmsBwd"))
    return NULL;
  if (!need(env, &dy, rows * n, "rmsBwd", "dy") || !need(env, &x, rows * n, "rmsBwd", "x") || !need(env, &w, n, "rmsBwd", "w") || !need(env, &r, rows, "rmsBwd", "r") ||
      !need(env, &dx, rows * n, "rmsBwd", "dx") || !need(env, &dw, n, "rmsBwd", "dw"))
    return NULL;
  for (int64_t j = 0; j < n; j++) dw.p[j] = 0.0f;
  const float invn = 1.0f / (float)n;
  for (int64_t i = 0; i < rows; i++) {
    const float *xi = x.p + i * n, *gi = dy.p + i * n;
    float *dxi = dx.p + i * n;
    const float ri = r.p[i];
    float s = 0.0f;
    for (int64_t j = 0; j < n; j++) {
      const float xh = xi[j] * ri;
      dw.p[j] += gi[j] * xh;
      s += gi[j] * w.p[j] * xh;
    }
    const float c = s * invn;
    for (int64_t j = 0; j < n; j++) dxi[j] = ri * (gi[j] * w.p[j] - xi[j] * ri * c);
  }
  return NULL;
}

static napi_value LnFwd(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!get_args(env, info, 6, argv, "eraserlab_blas.lnFwd(x, w, b, y, r, dims): 6 arguments expected")) return NULL;
  farr x, w, bb, y, r;
  int64_t rows, n;
  float eps;
  if (!arg_f32(env, argv[0], &x, "lnFwd", "x", 0) || !arg_f32(env, argv[1], &w, "lnFwd", "w", 0) || !arg_f32(env, argv[2], &bb, "lnFwd", "b", 0) ||
      !arg_f32(env, argv[3], &y, "lnFwd", "y", 0) || !arg_f32(env, argv[4], &r, "lnFwd", "r", 0) || !read_norm_dims(env, argv[5], &rows, &n, &eps, "lnFwd"))
    return NULL;
  if (!need(env, &x, rows * n, "lnFwd", "x") || !need(env, &w, n, "lnFwd", "w") || !need(env, &bb, n, "lnFwd", "b") || !need(env, &y, rows * n, "lnFwd", "y") ||
      !need(env, &r, rows, "lnFwd", "r"))
    return NULL;
  for (int64_t i = 0; i < rows; i++) {
    const float *xi = x.p + i * n;
    float *yi = y.p + i * n;
    float s = 0.0f;
    for (int64_t j = 0; j < n; j++) s += xi[j];
    const float mean = s / (float)n;
    float s2 = 0.0f;
    for (int64_t j = 0; j < n; j++) {
      const float c = xi[j] - mean;
      s2 += c * c;
    }
    const float ri = 1.0f / sqrtf(s2 / (float)n + eps);
    r.p[i] = ri;
    for (int64_t j = 0; j < n; j++) yi[j] = ((xi[j] - mean) * ri) * w.p[j] + bb.p[j];
  }
  return NULL;
}

static napi_value LnBwd(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!get_args(env, info, 8, argv, "eraserlab_blas.lnBwd(dy, x, w, r, dx, dw, db, dims): 8 arguments expected")) return NULL;
  farr dy, x, w, r, dx, dw, db;
  int64_t rows, n;
  float eps;
  if (!arg_f32(env, argv[0], &dy, "lnBwd", "dy", 0) || !arg_f32(env, argv[1], &x, "lnBwd", "x", 0) || !arg_f32(env, argv[2], &w, "lnBwd", "w", 0) ||
      !arg_f32(env, argv[3], &r, "lnBwd", "r", 0) || !arg_f32(env, argv[4], &dx, "lnBwd", "dx", 0) || !arg_f32(env, argv[5], &dw, "lnBwd", "dw", 0) ||
      !arg_f32(env, argv[6], &db, "lnBwd", "db", 0) || !read_norm_dims(env, argv[7], &rows, &n, &eps, "lnBwd"))
    return NULL;
  if (!need(env, &dy, rows * n, "lnBwd", "dy") || !need(env, &x, rows * n, "lnBwd", "x") || !need(env, &w, n, "lnBwd", "w") || !need(env, &r, rows, "lnBwd", "r") ||
      !need(env, &dx, rows * n, "lnBwd", "dx") || !need(env, &dw, n, "lnBwd", "dw") || !need(env, &db, n, "lnBwd", "db"))
    return NULL;
  for (int64_t j = 0; j < n; j++) dw.p[j] = db.p[j] = 0.0f;
  const float invn = 1.0f / (float)n;
  for (int64_t i = 0; i < rows; i++) {
    const float *xi = x.p + i * n, *gi = dy.p + i * n;
    float *dxi = dx.p + i * n;
    const float ri = r.p[i];
    float s = 0.0f;
    for (int64_t j = 0; j < n; j++) s += xi[j];
    const float mean = s / (float)n;
    float sg = 0.0f, sgx = 0.0f;
    for (int64_t j = 0; j < n; j++) {
      const float xh = (xi[j] - mean) * ri;
      const float g = gi[j] * w.p[j];
      dw.p[j] += gi[j] * xh;
      db.p[j] += gi[j];
      sg += g;
      sgx += g * xh;
    }
    const float mg = sg * invn, mgx = sgx * invn;
    for (int64_t j = 0; j < n; j++) {
      const float xh = (xi[j] - mean) * ri;
      dxi[j] = ri * (gi[j] * w.p[j] - mg - xh * mgx);
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------ activations */

static inline float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

static napi_value SwigluFwd(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv, "eraserlab_blas.swigluFwd(g, u, y): 3 arguments expected")) return NULL;
  farr g, u, y;
  if (!arg_f32(env, argv[0], &g, "swigluFwd", "g", 0) || !arg_f32(env, argv[1], &u, "swigluFwd", "u", 0) || !arg_f32(env, argv[2], &y, "swigluFwd", "y", 0)) return NULL;
  if (!need(env, &u, g.n, "swigluFwd", "u") || !need(env, &y, g.n, "swigluFwd", "y")) return NULL;
  for (size_t i = 0; i < g.n; i++) y.p[i] = (g.p[i] * sigm(g.p[i])) * u.p[i];
  return NULL;
}

static napi_value SwigluBwd(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv, "eraserlab_blas.swigluBwd(dy, g, u, dg, du): 5 arguments expected")) return NULL;
  farr dy, g, u, dg, du;
  if (!arg_f32(env, argv[0], &dy, "swigluBwd", "dy", 0) || !arg_f32(env, argv[1], &g, "swigluBwd", "g", 0) || !arg_f32(env, argv[2], &u, "swigluBwd", "u", 0) ||
      !arg_f32(env, argv[3], &dg, "swigluBwd", "dg", 0) || !arg_f32(env, argv[4], &du, "swigluBwd", "du", 0))
    return NULL;
  if (!need(env, &dy, g.n, "swigluBwd", "dy") || !need(env, &u, g.n, "swigluBwd", "u") || !need(env, &dg, g.n, "swigluBwd", "dg") || !need(env, &du, g.n, "swigluBwd", "du"))
    return NULL;
  for (size_t i = 0; i < g.n; i++) {
    const float x = g.p[i], s = sigm(x);
    du.p[i] = dy.p[i] * (x * s);
    dg.p[i] = (dy.p[i] * u.p[i]) * (s * (1.0f + x * (1.0f - s)));
  }
  return NULL;
}

static napi_value QgeluFwd(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv, "eraserlab_blas.qgeluFwd(x, y): 2 arguments expected")) return NULL;
  farr x, y;
  if (!arg_f32(env, argv[0], &x, "qgeluFwd", "x", 0) || !arg_f32(env, argv[1], &y, "qgeluFwd", "y", 0)) return NULL;
  if (!need(env, &y, x.n, "qgeluFwd", "y")) return NULL;
  for (size_t i = 0; i < x.n; i++) y.p[i] = x.p[i] * sigm(x.p[i] * 1.702f);
  return NULL;
}

static napi_value QgeluBwd(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv, "eraserlab_blas.qgeluBwd(dy, x, dx): 3 arguments expected")) return NULL;
  farr dy, x, dx;
  if (!arg_f32(env, argv[0], &dy, "qgeluBwd", "dy", 0) || !arg_f32(env, argv[1], &x, "qgeluBwd", "x", 0) || !arg_f32(env, argv[2], &dx, "qgeluBwd", "dx", 0)) return NULL;
  if (!need(env, &dy, x.n, "qgeluBwd", "dy") || !need(env, &dx, x.n, "qgeluBwd", "dx")) return NULL;
  for (size_t i = 0; i < x.n; i++) {
    const float s = sigm(x.p[i] * 1.702f);
    dx.p[i] = dy.p[i] * (s + 1.702f * x.p[i] * s * (1.0f - s));
  }
  return NULL;
}

/* ------------------------------------------------------------------ rotary embedding */

/* y[r, h, i] = x[r, h, i]·cos[r, i] + x[r, h, i ± D/2]·sin[r, i] (sin carries rotate_half's sign). */
static napi_value RopeFwd(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv, "eraserlab_blas.ropeFwd(x, cos, sin, y, dims): 5 arguments expected")) return NULL;
  farr x, c, sn, y;
  double *d;
  if (!arg_f32(env, argv[0], &x, "ropeFwd", "x", 0) || !arg_f32(env, argv[1], &c, "ropeFwd", "cos", 0) || !arg_f32(env, argv[2], &sn, "ropeFwd", "sin", 0) ||
      !arg_f32(env, argv[3], &y, "ropeFwd", "y", 0) || !arg_dims(env, argv[4], &d, 3, "ropeFwd"))
    return NULL;
  const int64_t rows = (int64_t)d[0], H = (int64_t)d[1], D = (int64_t)d[2], half = D / 2;
  if (rows < 0 || H < 1 || D < 2 || D % 2) {
    napi_throw_range_error(env, NULL, "eraserlab_blas.ropeFwd: dims must be rows >= 0, heads >= 1, an even head size");
    return NULL;
  }
  if (!need(env, &x, rows * H * D, "ropeFwd", "x") || !need(env, &c, rows * D, "ropeFwd", "cos") || !need(env, &sn, rows * D, "ropeFwd", "sin") ||
      !need(env, &y, rows * H * D, "ropeFwd", "y"))
    return NULL;
  for (int64_t r = 0; r < rows; r++) {
    const float *cr = c.p + r * D, *sr = sn.p + r * D;
    for (int64_t h = 0; h < H; h++) {
      const float *xi = x.p + (r * H + h) * D;
      float *yi = y.p + (r * H + h) * D;
      for (int64_t i = 0; i < D; i++) {
        const float a = xi[i] * cr[i];
        const float b = xi[i < half ? i + half : i - half] * sr[i];
        yi[i] = a + b;
      }
    }
  }
  return NULL;
}

/* The transpose of ropeFwd: dx[r, h, j] = dy[r, h, j]·cos[r, j] + dy[r, h, j ± D/2]·sin[r, j ± D/2]. */
static napi_value RopeBwd(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv, "eraserlab_blas.ropeBwd(dy, cos, sin, dx, dims): 5 arguments expected")) return NULL;
  farr dy, c, sn, dx;
  double *d;
  if (!arg_f32(env, argv[0], &dy, "ropeBwd", "dy", 0) || !arg_f32(env, argv[1], &c, "ropeBwd", "cos", 0) || !arg_f32(env, argv[2], &sn, "ropeBwd", "sin", 0) ||
      !arg_f32(env, argv[3], &dx, "ropeBwd", "dx", 0) || !arg_dims(env, argv[4], &d, 3, "ropeBwd"))
    return NULL;
  const int64_t rows = (int64_t)d[0], H = (int64_t)d[1], D = (int64_t)d[2], half = D / 2;
  if (rows < 0 || H < 1 || D < 2 || D % 2) {
    napi_throw_range_error(env, NULL, "eraserlab_blas.ropeBwd: dims must be rows >= 0, heads >= 1, an even head size");
    return NULL;
  }
  if (!need(env, &dy, rows * H * D, "ropeBwd", "dy") || !need(env, &c, rows * D, "ropeBwd", "cos") || !need(env, &sn, rows * D, "ropeBwd", "sin") ||
      !need(env, &dx, rows * H * D, "ropeBwd", "dx"))
    return NULL;
  for (int64_t r = 0; r < rows; r++) {
    const float *cr = c.p + r * D, *sr = sn.p + r * D;
    for (int64_t h = 0; h < H; h++) {
      const float *gi = dy.p + (r * H + h) * D;
      float *o = dx.p + (r * H + h) * D;
      for (int64_t j = 0; j < D; j++) {
        const int64_t k = j < half ? j + half : j - half;
        o[j] = gi[j] * cr[j] + gi[k] * sr[k];
      }
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------ KV cache */

static napi_value KvAppend(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv, "eraserlab_blas.kvAppend(cache, x, out, dims): 4 arguments expected")) return NULL;
  farr cache, x, out;
  double *d;
  if (!arg_f32(env, argv[0], &cache, "kvAppend", "cache", 1) || !arg_f32(env, argv[1], &x, "kvAppend", "x", 0) || !arg_f32(env, argv[2], &out, "kvAppend", "out", 0) ||
      !arg_dims(env, argv[3], &d, 5, "kvAppend"))
    return NULL;
  const int64_t B = (int64_t)d[0], past = (int64_t)d[1], T = (int64_t)d[2], kvh = (int64_t)d[3], D = (int64_t)d[4], S = past + T;
  if (B < 0 || past < 0 || T < 0 || kvh < 1 || D < 1) {
    napi_throw_range_error(env, NULL, "eraserlab_blas.kvAppend: bad dims");
    return NULL;
  }
  if ((past > 0 && !need(env, &cache, B * kvh * past * D, "kvAppend", "cache")) || !need(env, &x, B * T * kvh * D, "kvAppend", "x") ||
      !need(env, &out, B * kvh * S * D, "kvAppend", "out"))
    return NULL;
  for (int64_t b = 0; b < B; b++)
    for (int64_t j = 0; j < kvh; j++) {
      float *dst = out.p + (b * kvh + j) * S * D;
      if (past > 0) memcpy(dst, cache.p + (b * kvh + j) * past * D, sizeof(float) * past * D);
      for (int64_t t = 0; t < T; t++) memcpy(dst + (past + t) * D, x.p + ((b * T + t) * kvh + j) * D, sizeof(float) * D);
    }
  return NULL;
}

/* ------------------------------------------------------------------ cross-entropy */

/* musl's expf (Arm optimized-routines, EXP2F_TABLE_BITS 5, polynomial order 3), as compiled into
 * tfjs' WASM backend: double arithmetic without contraction (the addon builds with
 * -ffp-contract=off), ties-to-even via the 1.5·2^52 shift, the same table and coefficients. */
static const uint64_t EXP2F_TAB[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d, 0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13, 0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};

static inline uint32_t f_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  return u;
}

static inline float wasm_expf(float x) {
  const double invln2n = 0x1.71547652b82fep+0 * 32, shift = 0x1.8p+52;
  const double c0 = 0x1.c6af84b912394p-5 / 32 / 32 / 32, c1 = 0x1.ebfce50fac4f3p-3 / 32 / 32, c2 = 0x1.62e42ff0c52d6p-1 / 32;
  const uint32_t abstop = (f_bits(x) >> 20) & 0x7ff;
  if (abstop >= (f_bits(88.0f) >> 20)) {
    if (f_bits(x) == f_bits(-INFINITY)) return 0.0f;
    if (abstop >= (f_bits(INFINITY) >> 20)) return x + x;
    if (x > 0x1.62e42ep6f) return INFINITY;
    if (x < -0x1.9fe368p6f) return 0.0f;
  }
  const double xd = (double)x;
  double z = invln2n * xd;
  double kd = z + shift;
  uint64_t ki;
  memcpy(&ki, &kd, 8);
  kd -= shift;
  const double r = z - kd;
  uint64_t t = EXP2F_TAB[ki % 32];
  t += ki << 47;
  double s;
  memcpy(&s, &t, 8);
  z = c0 * r + c1;
  const double r2 = r * r;
  double y = c2 * r + 1;
  y = z * r2 + y;
  y = y * s;
  return (float)y;
}

static int ce_dims(napi_env env, napi_value v, double **d, int64_t *N, int64_t *V, const char *fn) {
  size_t n = 0;
  if (!arg_dims_len(env, v, d, 2, fn, &n)) return 0;
  *N = (int64_t)(*d)[0];
  *V = (int64_t)(*d)[1];
  if (*N < 0 || *V < 1 || n < (size_t)(2 + *N)) {
    napi_throw_range_error(env, NULL, "eraserlab_blas.ce: dims must be [N, V, N targets]");
    return 0;
  }
  for (int64_t i = 0; i < *N; i++) {
    const double t = (*d)[2 + i];
    if (!(t >= 0 && t < (double)*V) || t != (double)(int64_t)t) {
      char msg[160];
      snprintf(msg, sizeof msg, "eraserlab_blas.%s: target %lld is %g, not a class in [0, %lld)", fn, (long long)i, t, (long long)*V);
      napi_throw_range_error(env, NULL, msg);
      return 0;
    }
  }
  return 1;
}

static napi_value CeFwd(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv, "eraserlab_blas.ceFwd(x, e, s, zt, dims): 5 arguments expected")) return NULL;
  farr x, e, s, zt;
  double *d;
  int64_t N, V;
  if (!arg_f32(env, argv[0], &x, "ceFwd", "x", 0) || !arg_f32(env, argv[1], &e, "ceFwd", "e", 0) || !arg_f32(env, argv[2], &s, "ceFwd", "s", 0) ||
      !arg_f32(env, argv[3], &zt, "ceFwd", "zt", 0) || !ce_dims(env, argv[4], &d, &N, &V, "ceFwd"))
    return NULL;
  if (!need(env, &x, N * V, "ceFwd", "x") || !need(env, &e, N * V, "ceFwd", "e") || !need(env, &s, N, "ceFwd", "s") || !need(env, &zt, N, "ceFwd", "zt")) return NULL;
  for (int64_t i = 0; i < N; i++) {
    const float *xr = x.p + i * V;
    float *er = e.p + i * V;
    float mx = xr[0];
    for (int64_t j = 0; j < V; j++)
      if (xr[j] > mx) mx = xr[j];
    float sum = 0.0f;
    for (int64_t j = 0; j < V; j++) {
      er[j] = wasm_expf(xr[j] - mx);
      sum += er[j];
    }
    s.p[i] = sum;
    zt.p[i] = xr[(int64_t)d[2 + i]] - mx;
  }
  return NULL;
}

static napi_value CeBwd(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv, "eraserlab_blas.ceBwd(e, s, dy, dx, dims): 5 arguments expected")) return NULL;
  farr e, s, dy, dx;
  double *d;
  int64_t N, V;
  if (!arg_f32(env, argv[0], &e, "ceBwd", "e", 0) || !arg_f32(env, argv[1], &s, "ceBwd", "s", 0) || !arg_f32(env, argv[2], &dy, "ceBwd", "dy", 0) ||
      !arg_f32(env, argv[3], &dx, "ceBwd", "dx", 0) || !ce_dims(env, argv[4], &d, &N, &V, "ceBwd"))
    return NULL;
  if (!need(env, &e, N * V, "ceBwd", "e") || !need(env, &s, N, "ceBwd", "s") || !need(env, &dy, N, "ceBwd", "dy") || !need(env, &dx, N * V, "ceBwd", "dx")) return NULL;
  for (int64_t i = 0; i < N; i++) {
    const float *er = e.p + i * V;
    float *g = dx.p + i * V;
    const float si = s.p[i], gi = dy.p[i];
    const int64_t t = (int64_t)d[2 + i];
    for (int64_t j = 0; j < V; j++) g[j] = (er[j] / si - (j == t ? 1.0f : 0.0f)) * gi;
  }
  return NULL;
}

/* Called from blas.c's Init. */
napi_status eraserlab_register_fused(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"attnFwd", NULL, AttnFwd, NULL, NULL, NULL, napi_default, NULL},
      {"attnBwd", NULL, AttnBwd, NULL, NULL, NULL, napi_default, NULL},
      {"rmsFwd", NULL, RmsFwd, NULL, NULL, NULL, napi_default, NULL},
      {"rmsBwd", NULL, RmsBwd, NULL, NULL, NULL, napi_default, NULL},
      {"lnFwd", NULL, LnFwd, NULL, NULL, NULL, napi_default, NULL},
      {"lnBwd", NULL, LnBwd, NULL, NULL, NULL, napi_default, NULL},
      {"swigluFwd", NULL, SwigluFwd, NULL, NULL, NULL, napi_default, NULL},
      {"swigluBwd", NULL, SwigluBwd, NULL, NULL, NULL, napi_default, NULL},
      {"qgeluFwd", NULL, QgeluFwd, NULL, NULL, NULL, napi_default, NULL},
      {"qgeluBwd", NULL, QgeluBwd, NULL, NULL, NULL, napi_default, NULL},
      {"kvAppend", NULL, KvAppend, NULL, NULL, NULL, napi_default, NULL},
      {"ropeFwd", NULL, RopeFwd, NULL, NULL, NULL, napi_default, NULL},
      {"ropeBwd", NULL, RopeBwd, NULL, NULL, NULL, napi_default, NULL},
      {"ceFwd", NULL, CeFwd, NULL, NULL, NULL, napi_default, NULL},
      {"ceBwd", NULL, CeBwd, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
