"""`python -m sim` is the `resilience` command."""

import sys

from sim.cli import main

sys.exit(main())
