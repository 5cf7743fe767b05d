"""``python -m sim.report``: the ``outreach-sim-report`` command."""

import sys

from sim.report import main

sys.exit(main())
