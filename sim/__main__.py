"""python -m sim: the outreach-sim command."""

from sim.cli import main

main()
