"""Spotting facial movements in aligned faces: when a micro- or macro-expression starts, peaks and ends."""

from frl_core.spotting.spotter import (
    MotionModel,
    SpotStep,
    SpottedInterval,
    SpotterConfig,
    SpotterError,
    StreamingSpotter,
    motion_scores,
    spot_offline,
)

__all__ = [
    "MotionModel",
    "SpotStep",
    "SpottedInterval",
    "SpotterConfig",
    "SpotterError",
    "StreamingSpotter",
    "motion_scores",
    "spot_offline",
]
