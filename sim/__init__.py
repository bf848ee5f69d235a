"""resilience-sim: discrete-event simulation of an improvised emergency mask production network.

For notebooks: `sim.load(...)` and `sim.run(...)` (see sim/api.py and docs/api.md).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Results", "load", "run"]


def __getattr__(name: str) -> Any:
    # The API is imported on first use, so `import sim.config` (and every worker process) does not load
    # pandas, the runner and the analysis just because the package is imported.
    if name in __all__:
        from sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
