"""Noise: learn which differences are noise from A/A calibration (the legacy backend asked twice), and
suggest normalisation rules from a stored run.
"""

from __future__ import annotations

from paritycheck.noise.learn import (
    LEARNED,
    VOLATILE,
    NoiseLearner,
    NoisePath,
    classify_merged,
    is_noise,
    noise_paths,
    wilson_upper,
)

__all__ = [
    "LEARNED",
    "VOLATILE",
    "NoiseLearner",
    "NoisePath",
    "classify_merged",
    "is_noise",
    "noise_paths",
    "wilson_upper",
]
