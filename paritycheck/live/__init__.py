"""Live: turn live traffic into exchanges, shadow them to the candidate and store them as windowed runs.

Two topologies: the inline ``proxy`` answers clients with the legacy's reply and shadows a copy to the
candidate off the client path; the ``mirror`` sink answers edge-mirrored copies at once and replays
each to both backends. Every window closes as an ordinary run that report, gate and history read.
The listener only hands each copy to a shadow helper process (handoff.py, helper.py) that does the rest.
"""

from __future__ import annotations

from paritycheck.live.sampling import RateLimit, Sampler, fnv1a32
from paritycheck.live.serve import LiveOptions, LiveServer, serve
from paritycheck.live.shadow import Shadow
from paritycheck.live.window import Windows

__all__ = ["LiveOptions", "LiveServer", "RateLimit", "Sampler", "Shadow", "Windows", "fnv1a32", "serve"]
