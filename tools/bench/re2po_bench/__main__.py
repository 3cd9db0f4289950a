"""python3 -m re2po_bench SUBCOMMAND ..."""

import sys

from re2po_bench.cli import main

sys.exit(main())
