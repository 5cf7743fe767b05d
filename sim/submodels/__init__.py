"""One submodel per activity of the table (:mod:`sim.activities`), plus diffusion and volunteers.

Each activity's function takes the model and the activity's table row and runs one month of
it; ``SUBMODELS`` maps the table's names to them (the table's ``submodel`` field names the
module and function, checked when this package is imported).
"""

from __future__ import annotations

from importlib import import_module

from sim.activities import TABLE
from sim.submodels.families import diffuse
from sim.submodels.volunteers import turnover


def _resolve(path: str):
    module, func = path.split(":")
    return getattr(import_module(f"sim.submodels.{module}"), func)


SUBMODELS = {a.name: _resolve(a.submodel) for a in TABLE}

__all__ = ["SUBMODELS", "diffuse", "turnover"]
