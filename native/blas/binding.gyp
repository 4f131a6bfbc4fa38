{
  "targets": [
    {
      "target_name": "eraserlab_blas",
      "sources": ["src/blas.c", "src/fused.c"],
      "cflags": ["-O2", "-std=c11", "-ffp-contract=off", "-fno-fast-math"],
      "libraries": ["-lopenblas", "-lm"]
    }
  ]
}
