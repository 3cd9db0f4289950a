"""Re2po's benchmark harness and seeded model-zoo generator.

    python3 -m re2po_bench run ...         the benchmark (harness/)
    python3 -m re2po_bench gen-models ...  the model set (modelgen/)

tools/bench/run-bench and tools/bench/gen-models run these with Debian's
interpreter; docs/benchmarks.md describes both.
"""
