{
  "targets": [
    {
      "target_name": "eraserlab_blas",
      "sources": ["src/blas.c", "src/fused.c"],
      "cflags": ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno"],
      "libraries": ["-lopenblas", "-lm", "-lpthread"]
    }
  ]
}
