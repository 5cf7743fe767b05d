"""outreach-sim: an agent-based model of Hunan's family planning association outreach."""

__version__ = "0.1.0"
