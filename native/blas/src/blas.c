/*
 * eraserlab_blas: matrix products for tfjs kernels through the system's OpenBLAS (cblas_sgemm).
 *
 * gemm(a, b, c, batch, m, n, k, transA, transB, strideA, strideB)
 *   For each i < batch: C_i = op(A_i) · op(B_i), row-major float32, where A_i starts at
 *   a[i * strideA] (strideA 0 broadcasts one matrix), op(A_i) is [m, k] (stored [k, m] when
 *   transA), op(B_i) is [k, n] (stored [n, k] when transB), and C_i at c[i * m * n] is [m, n].
 *   a, b and c are Float32Arrays (views into the WASM heap included: no copies). Bounds are
 *   checked against each array's length before any write.
 *   With setProductThreads(2), a single product whose two column halves each exceed OpenBLAS's
 *   small-matrix bound (m·n·k > 100³ for each half) is split: the second half of C's columns
 *   runs on a helper thread while the calling thread computes the first. Each element of C is
 *   the same dot product over the same k blocks either way (OpenBLAS blocks k by k alone, and
 *   both halves stay on its regular path), so the result is bit for bit the unsplit one.
 * setProductThreads(n) / getProductThreads(): 1 (no split) or 2; productSplits(): how many
 *   products have been split so far.
 * sumsq(a): Σ a_i² of a Float32Array, accumulated in double.
 * adamw(p, m, v, g, pOut, mOut, vOut, c): one AdamW update of a tensor (the outputs may be the
 *   inputs p, m, v themselves: an update in place), element by element in
 *   float32 in the order torch.optim.AdamW (and eraserlab's tensor path) applies it; c is a
 *   Float64Array [clip, beta1, 1-beta1, beta2, 1-beta2, sqrt(bias2), eps, 1-lr·wd, stepSize],
 *   each rounded to float32 as a tfjs scalar would be; clip 1 and keep 1 skip those products.
 * setThreads(n) / getThreads(): OpenBLAS's thread count.
 * info(): the library's build configuration string.
 * The fused layer kernels (attention, norms, activations, KV-cache append) are in fused.c.
 */
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <cblas.h>
#include <math.h>

extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);

#define CHECK(call)                                                         \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      napi_throw_error(env, NULL, "eraserlab_blas: N-API call failed: " #call); \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

/* A typed array of the given type: its data pointer and length, or 0 with a TypeError thrown. */
static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len, const char *fn, const char *name, const char *what) {
  bool is_ta = false;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset = 0;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta || napi_get_typedarray_info(env, v, &type, len, data, &ab, &offset) != napi_ok || type != want) {
    char msg[160];
    snprintf(msg, sizeof msg, "eraserlab_blas.%s: %s must be a %s", fn, name, what);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

static int get_f32(napi_env env, napi_value v, float **data, size_t *len, const char *name) {
  return get_typed(env, v, napi_float32_array, (void **)data, len, "gemm", name, "Float32Array");
}

static int get_i64(napi_env env, napi_value v, int64_t *out, const char *name) {
  if (napi_get_value_int64(env, v, out) != napi_ok || *out < 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "eraserlab_blas.gemm: %s must be a non-negative integer", name);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

/* ---- two-way column split of large products (see the header) */

typedef struct {
  int ta, tb, m, n, k, lda, ldb, ldc;
  const float *a, *b;
  float *c;
} sgemm_job;

static void run_sgemm(const sgemm_job *j) {
  cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans, j->m, j->n, j->k, 1.0f, j->a, j->lda, j->b, j->ldb, 0.0f, j->c, j->ldc);
}

static int product_threads = 1;
static int helper_state = 0; /* 0 none, 1 running, -1 failed to start */
static pthread_t helper;
static pthread_mutex_t helper_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t helper_go = PTHREAD_COND_INITIALIZER;
/* Held by the caller that owns the helper for one product: a second caller (another worker
 * thread with this addon loaded) that finds it taken computes its product unsplit. */
static pthread_mutex_t split_mu = PTHREAD_MUTEX_INITIALIZER;
static sgemm_job helper_job;
/* Products are numbered: `posted` is the last one handed to the helper, `finished` the last it
 * completed. The caller spins on `finished` (its half is usually the longer one, so the wait
 * is short). */
static _Atomic uint64_t posted = 0, finished = 0;
/* Products split so far (productSplits()). */
static _Atomic uint64_t splits = 0;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Between products the helper spins for 256 pauses (~10 µs: the next product of a burst is
 * usually posted by then), then sleeps on helper_go. */
static void *helper_main(void *unused) {
  (void)unused;
  uint64_t done = 0;
  for (;;) {
    unsigned spins = 0;
    while (atomic_load_explicit(&posted, memory_order_acquire) == done) {
      cpu_relax();
      if (++spins == 256) {
        pthread_mutex_lock(&helper_mu);
        while (atomic_load_explicit(&posted, memory_order_acquire) == done) pthread_cond_wait(&helper_go, &helper_mu);
        pthread_mutex_unlock(&helper_mu);
        break;
      }
    }
    const sgemm_job j = helper_job;
    done = atomic_load_explicit(&posted, memory_order_acquire);
    run_sgemm(&j);
    atomic_store_explicit(&finished, done, memory_order_release);
  }
  return NULL;
}

static int helper_ready(void) {
  if (helper_state == 0) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    helper_state = pthread_create(&helper, &attr, helper_main, NULL) == 0 ? 1 : -1;
    pthread_attr_destroy(&attr);
  }
  return helper_state == 1;
}

/* One row-major product C[m, n] = op(A) · op(B), split over two threads when that is exact and worth it. */
static void product(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int lda, const float *b, int ldb, float *c) {
  const int64_t n1 = ((n / 2) + 15) / 16 * 16;
  const double small = 100.0 * 100.0 * 100.0;
  if (product_threads > 1 && n1 > 0 && n1 < n && (double)m * (double)n1 * (double)k > small && (double)m * (double)(n - n1) * (double)k > small &&
      pthread_mutex_trylock(&split_mu) == 0) {
    if (helper_ready()) {
      atomic_fetch_add_explicit(&splits, 1, memory_order_relaxed);
      helper_job = (sgemm_job){ta, tb, (int)m, (int)(n - n1), (int)k, lda, ldb, (int)n, a, tb ? b + n1 * k : b + n1, c + n1};
      pthread_mutex_lock(&helper_mu);
      const uint64_t id = atomic_load_explicit(&posted, memory_order_relaxed) + 1;
      atomic_store_explicit(&posted, id, memory_order_release);
      pthread_cond_signal(&helper_go);
      pthread_mutex_unlock(&helper_mu);
      const sgemm_job mine = {ta, tb, (int)m, (int)n1, (int)k, lda, ldb, (int)n, a, b, c};
      run_sgemm(&mine);
      unsigned spins = 0;
      while (atomic_load_explicit(&finished, memory_order_acquire) != id) {
        cpu_relax();
        if (++spins % 4096 == 0) sched_yield();
      }
      pthread_mutex_unlock(&split_mu);
      return;
    }
    pthread_mutex_unlock(&split_mu);
  }
  const sgemm_job all = {ta, tb, (int)m, (int)n, (int)k, lda, ldb, (int)n, a, b, c};
  run_sgemm(&all);
}

static napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 11) {
    napi_throw_type_error(env, NULL, "eraserlab_blas.gemm(a, b, c, batch, m, n, k, transA, transB, strideA, strideB): 11 arguments expected");
    return NULL;
  }
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!get_f32(env, argv[0], &a, &la, "a") || !get_f32(env, argv[1], &b, &lb, "b") || !get_f32(env, argv[2], &c, &lc, "c")) return NULL;
  int64_t batch, m, n, k, sa, sb;
  if (!get_i64(env, argv[3], &batch, "batch") || !get_i64(env, argv[4], &m, "m") || !get_i64(env, argv[5], &n, "n") ||
      !get_i64(env, argv[6], &k, "k") || !get_i64(env, argv[9], &sa, "strideA") || !get_i64(env, argv[10], &sb, "strideB")) return NULL;
  bool ta = false, tb = false;
  CHECK(napi_get_value_bool(env, argv[7], &ta));
  CHECK(napi_get_value_bool(env, argv[8], &tb));
  if (batch == 0 || m == 0 || n == 0) return NULL;
  if ((uint64_t)((batch - 1) * sa + m * k) > la || (uint64_t)((batch - 1) * sb + k * n) > lb || (uint64_t)(batch * m * n) > lc ||
      m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) {
    napi_throw_range_error(env, NULL, "eraserlab_blas.gemm: operand sizes exceed the arrays given");
    return NULL;
  }
  const int lda = ta ? (int)m : (int)k;
  const int ldb = tb ? (int)k : (int)n;
  for (int64_t i = 0; i < batch; i++) {
    float *ci = c + i * m * n;
    if (k == 0) {
      for (int64_t j = 0; j < m * n; j++) ci[j] = 0.0f;
      continue;
    }
    product(ta, tb, m, n, k, a + i * sa, lda, b + i * sb, ldb, ci);
  }
  return NULL;
}

static napi_value SumSq(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  float *a;
  size_t n;
  if (argc < 1 || !get_typed(env, argv[0], napi_float32_array, (void **)&a, &n, "sumsq", "a", "Float32Array")) return NULL;
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)a[i];
  napi_value out;
  CHECK(napi_create_double(env, s, &out));
  return out;
}

/* Element-wise loops are compiled for AVX-512, AVX2 and the baseline, picked at load time
 * (each element's arithmetic is the same in every version: no contraction, no reassociation). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VEC_CLONES
#endif

/* The outputs may be the inputs themselves (an in-place update): each element is read before
 * it is written, and no element reads another's value. */
VEC_CLONES static void adamw_loop(const float *p, const float *m, const float *v, const float *g, float *po, float *mo, float *vo, size_t n, float clip, float b1, float omb1, float b2, float omb2, float sqrtBc2,
                                  float eps, float keep, float step, int useClip, int useKeep) {
  for (size_t i = 0; i < n; i++) {
    const float gi = useClip ? g[i] * clip : g[i];
    const float mi = m[i] * b1 + gi * omb1;
    const float vi = v[i] * b2 + (gi * gi) * omb2;
    const float denom = sqrtf(vi) / sqrtBc2 + eps;
    const float pi = useKeep ? p[i] * keep : p[i];
    po[i] = pi - (mi / denom) * step;
    mo[i] = mi;
    vo[i] = vi;
  }
}

static napi_value AdamW(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) {
    napi_throw_type_error(env, NULL, "eraserlab_blas.adamw(p, m, v, g, pOut, mOut, vOut, consts): 8 arguments expected");
    return NULL;
  }
  float *arr[7];
  size_t len[7];
  static const char *names[7] = {"p", "m", "v", "g", "pOut", "mOut", "vOut"};
  for (int i = 0; i < 7; i++)
    if (!get_typed(env, argv[i], napi_float32_array, (void **)&arr[i], &len[i], "adamw", names[i], "Float32Array")) return NULL;
  for (int i = 1; i < 7; i++) {
    if (len[i] != len[0]) {
      napi_throw_range_error(env, NULL, "eraserlab_blas.adamw: p, m, v, g and the outputs must have the same length");
      return NULL;
    }
  }
  void *cp = NULL;
  size_t nc = 0;
  if (!get_typed(env, argv[7], napi_float64_array, &cp, &nc, "adamw", "consts", "Float64Array of 9 numbers")) return NULL;
  if (nc < 9) {
    napi_throw_type_error(env, NULL, "eraserlab_blas.adamw: consts must be a Float64Array of 9 numbers");
    return NULL;
  }
  const double *c = (const double *)cp;
  const float clip = (float)c[0], b1 = (float)c[1], omb1 = (float)c[2], b2 = (float)c[3], omb2 = (float)c[4];
  const float sqrtBc2 = (float)c[5], eps = (float)c[6], keep = (float)c[7], step = (float)c[8];
  const int useClip = c[0] != 1.0, useKeep = c[7] != 1.0;
  adamw_loop(arr[0], arr[1], arr[2], arr[3], arr[4], arr[5], arr[6], len[0], clip, b1, omb1, b2, omb2, sqrtBc2, eps, keep, step, useClip, useKeep);
  return NULL;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t n = 1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_type_error(env, NULL, "eraserlab_blas.setThreads(n): n must be an integer >= 1");
    return NULL;
  }
  openblas_set_num_threads(n);
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  napi_value out;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

static napi_value SetProductThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_type_error(env, NULL, "eraserlab_blas.setProductThreads(n): n must be an integer ≥ 1");
    return NULL;
  }
  product_threads = n > 1 ? 2 : 1; /* the helper starts with the first product that splits */
  return NULL;
}

static napi_value GetProductThreads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_int32(env, product_threads, &out));
  return out;
}

static napi_value ProductSplits(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_double(env, (double)atomic_load(&splits), &out));
  return out;
}

static napi_value Info(napi_env env, napi_callback_info info) {
  napi_value out;
  const char *cfg = openblas_get_config();
  CHECK(napi_create_string_utf8(env, cfg ? cfg : "OpenBLAS", NAPI_AUTO_LENGTH, &out));
  return out;
}

napi_status eraserlab_register_fused(napi_env env, napi_value exports); /* fused.c */

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gemm", NULL, Gemm, NULL, NULL, NULL, napi_default, NULL},
      {"sumsq", NULL, SumSq, NULL, NULL, NULL, napi_default, NULL},
      {"adamw", NULL, AdamW, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"getThreads", NULL, GetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"setProductThreads", NULL, SetProductThreads, NULL, NULL, NULL, napi_default, NULL},
      {"getProductThreads", NULL, GetProductThreads, NULL, NULL, NULL, napi_default, NULL},
      {"productSplits", NULL, ProductSplits, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, Info, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  if (eraserlab_register_fused(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
