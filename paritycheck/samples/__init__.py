"""The bundled demo: a legacy KPI tracker API and its port, with seeded differences (docs/demo.md).

:func:`start` runs both on loopback in the current event loop; ``python -m paritycheck.samples serve``
runs them until interrupted. The exports load on first use (paritycheck/common/lazy.py): ``python -m
paritycheck.samples reset``, which a session may run before every replay, needs no web server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paritycheck.common.lazy import exports

if TYPE_CHECKING:
    from paritycheck.samples.serving import (
        Samples,
        configured_urls,
        running,
        serve_app,
        start,
    )

__getattr__ = exports(
    __name__,
    {
        "Samples": "serving",
        "configured_urls": "serving",
        "running": "serving",
        "serve_app": "serving",
        "start": "serving",
    },
)

__all__ = ["Samples", "configured_urls", "running", "serve_app", "start"]
