"""LLM-sized models (issue #20): a seeded generator of a Llama-like decoder
in the files people actually serve (bf16 shards, fp16, GGUF F16/Q8_0/Q4_K,
a fine-tune as version 2, a merged LoRA) and the benchmark that imports and
reads them (`re2po-bench llm gen|run`, tools/bench/gen-llm and
tools/bench/run-llm-bench); see docs/benchmarks.md.

gen (model, encodings, file writers and readers) -> bench (import, stored
size, cold/warm/mmap reads, memory) -> report (targets, markdown); cli
parses the flags of both. numpy only: no torch, so the generator starts
fast and writes multi-GB files tensor by tensor.
"""
