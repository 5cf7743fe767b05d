"""Progress lines for long work: shown on a terminal, quiet in logs and pipes."""

from __future__ import annotations

import sys
import time


class Progress:
    """Prints ``label: i/n (elapsed)`` on one rewritten stderr line when stderr is a terminal.

    Args:
        label: What is being done.
        total: Number of steps, or 0 when unknown.
        enabled: Force on/off; ``None`` means "only when stderr is a terminal".
    """

    def __init__(self, label: str, total: int = 0, *, enabled: bool | None = None):
        self.label = label
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.t0 = time.perf_counter()
        self.done = 0

    def step(self, note: str = "", n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        of = f"/{self.total}" if self.total else ""
        sys.stderr.write(f"\r{self.label}: {self.done}{of} {note} ({time.perf_counter() - self.t0:.1f} s)\033[K")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
