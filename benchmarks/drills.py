"""The fault drills at full scale (712 symbols by default): ``uv run python benchmarks/drills.py``.

The harness is the test suite's (``tests/drills/harness.py``; the suite runs it on three symbols);
``--help`` lists the options.
"""

import sys

import common  # noqa: F401  (puts the project root on the path)

from tests.drills.harness import main

if __name__ == "__main__":
    sys.exit(main())
