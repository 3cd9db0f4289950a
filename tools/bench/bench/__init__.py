"""Re2po benchmark harness modules (driven by tools/bench/run_bench.py)."""
