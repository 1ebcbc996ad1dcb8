"""The streaming engine (frames in; per-frame results and recognised events out) and its runners."""

from frl_core.engine.analysis import (
    STAGES,
    AlignedRing,
    AnalysisEngine,
    EngineConfig,
    EngineError,
    EngineStats,
    Observation,
    RecognitionError,
    flow_displacement,
    is_out_of_memory,
    load_recognizer,
)
from frl_core.engine.runner import (
    CaptureThread,
    EventsCallback,
    FaceStageThread,
    FrameCallback,
    FrameQueue,
    LiveRunner,
    LiveStats,
    analyse_source,
    gray_copy,
)

__all__ = [
    "STAGES",
    "AlignedRing",
    "AnalysisEngine",
    "CaptureThread",
    "EngineConfig",
    "EngineError",
    "EngineStats",
    "EventsCallback",
    "FaceStageThread",
    "FrameCallback",
    "FrameQueue",
    "LiveRunner",
    "LiveStats",
    "Observation",
    "RecognitionError",
    "analyse_source",
    "flow_displacement",
    "gray_copy",
    "is_out_of_memory",
    "load_recognizer",
]
