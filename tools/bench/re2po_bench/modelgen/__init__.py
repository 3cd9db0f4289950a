"""The seeded model-zoo generator (`re2po-bench gen-models`).

cli (flags) -> zoo (the whole set, per backbone) or scenarios (one small
test set) -> training (seeded SGD on architectures' models) -> tensors
(derived state dicts) -> writer (files + manifest entries) -> writers/ (one
module per file format). presets holds every size and choice as dataclasses.

Every run with the same preset, seed and thread count writes the same bytes:
every seed is derived from names, and the order of the steps that draw from
torch's global generator (dropout, stochastic depth) is fixed.
"""
