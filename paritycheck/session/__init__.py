"""Session-aware replay: sessions in capture order, per-backend logins and generated values, fresh state.

See docs/sessions.md. The runner uses :class:`SessionReplay`; the modules are ``grouping`` (which
exchanges form a session), ``correlate`` (generated values), ``auth`` (``[auth]`` logins) and ``reset``
(reset commands).
"""

from __future__ import annotations

from paritycheck.session.reset import ResetResult
from paritycheck.session.runtime import SessionReplay

__all__ = ["ResetResult", "SessionReplay"]
