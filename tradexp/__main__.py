"""`python -m tradexp` runs the `tradexp` command."""

import sys

from tradexp.cli import main

if __name__ == "__main__":
    sys.exit(main())
