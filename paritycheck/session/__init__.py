"""Session-aware replay: sessions in capture order, per-backend logins and generated values, fresh state.

See docs/sessions.md. The runner uses :class:`SessionReplay`; the modules are ``grouping`` (which
exchanges form a session), ``correlate`` (generated values), ``auth`` (``[auth]`` logins), ``credentials``
(the placeholder credentials of generated requests) and ``reset`` (reset commands).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paritycheck.common.lazy import exports

if TYPE_CHECKING:
    from paritycheck.session.correlate import Produced
    from paritycheck.session.credentials import PLACEHOLDER, Credentials, placeholder
    from paritycheck.session.grouping import Group, Grouper
    from paritycheck.session.reset import ResetResult, run_reset
    from paritycheck.session.runtime import SessionReplay, merge_meta

# Each export loads its own module on first use (paritycheck/common/lazy.py).
__getattr__ = exports(
    __name__,
    {
        "Produced": "correlate",
        "PLACEHOLDER": "credentials",
        "Credentials": "credentials",
        "placeholder": "credentials",
        "Group": "grouping",
        "Grouper": "grouping",
        "ResetResult": "reset",
        "run_reset": "reset",
        "SessionReplay": "runtime",
        "merge_meta": "runtime",
    },
)

__all__ = [
    "PLACEHOLDER",
    "Credentials",
    "Group",
    "Grouper",
    "Produced",
    "ResetResult",
    "SessionReplay",
    "merge_meta",
    "placeholder",
    "run_reset",
]
