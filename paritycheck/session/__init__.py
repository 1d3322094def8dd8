"""Session-aware replay: sessions in capture order, per-backend logins and generated values, fresh state.

See docs/sessions.md. The runner uses :class:`SessionReplay`; the modules are ``grouping`` (which
exchanges form a session), ``correlate`` (generated values), ``auth`` (``[auth]`` logins), ``credentials``
(the placeholder credentials of generated requests) and ``reset`` (reset commands).
"""

from __future__ import annotations

from paritycheck.session.correlate import Produced
from paritycheck.session.credentials import PLACEHOLDER, Credentials, placeholder
from paritycheck.session.grouping import Group, Grouper
from paritycheck.session.reset import ResetResult, run_reset
from paritycheck.session.runtime import SessionReplay

__all__ = [
    "PLACEHOLDER",
    "Credentials",
    "Group",
    "Grouper",
    "Produced",
    "ResetResult",
    "SessionReplay",
    "placeholder",
    "run_reset",
]
