"""``python -m kerasinit``."""

import sys

from kerasinit.cli import main

sys.exit(main())
