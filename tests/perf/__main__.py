"""``python -m tests.perf [--quick] [--out perf.json]``: see :mod:`tests.perf.bench`."""

import sys

from tests.perf.bench import main

if __name__ == "__main__":
    sys.exit(main())
