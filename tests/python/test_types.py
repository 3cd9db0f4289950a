"""Type-checks the benchmark package (tools/bench/re2po_bench) with mypy,
using the settings in tools/bench/pyproject.toml. Skipped, saying why, when
Debian's python3-mypy is not installed.

    PYTHONPATH=tools/bench /usr/bin/python3 -m unittest test_types
"""

import subprocess
import sys
import tempfile
import unittest

from bench_package import BENCH_DIR


def _have_mypy():
    r = subprocess.run([sys.executable, "-m", "mypy", "--version"],
                       capture_output=True)
    return r.returncode == 0


class TypesTest(unittest.TestCase):

    def test_package_is_typed(self):
        if not _have_mypy():
            print("\nskipping the type check: python3-mypy is not installed",
                  file=sys.stderr)
            self.skipTest("python3-mypy is not installed")
        with tempfile.TemporaryDirectory(prefix="mypy_cache_") as cache:
            r = subprocess.run(
                [sys.executable, "-m", "mypy", "--config-file",
                 "pyproject.toml", "--cache-dir", cache, "re2po_bench"],
                cwd=BENCH_DIR, capture_output=True, text=True, timeout=900)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
