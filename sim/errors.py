"""User-facing errors: one line that names the key and what is allowed."""

import math


class UserError(Exception):
    """An error caused by the user's input (a config value, a path, a file).

    Command-line entry points print ``str(error)`` on one line and exit with status 2,
    without a traceback.
    """


class ConfigError(UserError):
    """A config value outside its allowed set or range."""

    def __init__(self, key: str, value, allowed: str):
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{key}={value!r} is not allowed: {allowed}")


def check_range(key: str, value, low=None, high=None, *, low_open=False, high_open=False) -> None:
    """Raise :class:`ConfigError` unless ``low (<|<=) value (<|<=) high``."""
    try:
        # Whole numbers compare exactly (2**63 - 1 is not a float); anything else as a float.
        v = value if isinstance(value, int) and not isinstance(value, bool) else float(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(key, value, "must be a number") from None
    bad = not math.isfinite(v)  # NaN, inf and overflowing literals such as 1e400
    if low is not None:
        bad |= v <= low if low_open else v < low
    if high is not None:
        bad |= v >= high if high_open else v > high
    if bad:
        lo = "-inf" if low is None else _bound(low)
        hi = "inf" if high is None else _bound(high)
        lb = "(" if low_open or low is None else "["
        hb = ")" if high_open or high is None else "]"
        finite = "" if math.isfinite(v) else "a finite number "
        raise ConfigError(key, value, f"must be {finite}in {lb}{lo}, {hi}{hb}")


def _bound(x) -> str:
    return str(x) if isinstance(x, int) and not isinstance(x, bool) else f"{x:g}"


def check_choice(key: str, value, choices) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(key, value, f"must be one of {sorted(choices)}")
