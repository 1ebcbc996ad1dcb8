"""Generated face videos with known micro-expressions: the demo clip, test input and benchmark material.

:mod:`~frl_core.synth.render` renders real face photos with action units, head motion, blinks, lighting
and noise; :mod:`~frl_core.synth.labelled` builds the labelled real-face benchmark's sequences;
:mod:`frl_core.benchmarks.generated` scores spotting and recognition on them (``python main.py synth``).
"""

from frl_core.synth.labelled import LABELLED_EXPRESSIONS, encode_video, labelled_sequence
from frl_core.synth.render import (
    DEFAULT_FACE,
    DEMO_DIR,
    SPOTTING_EXPRESSIONS,
    STILL,
    Blink,
    HeadMotion,
    Lighting,
    RenderedFrames,
    SynthError,
    SyntheticEvent,
    SyntheticSequence,
    demo_sequence,
    load_face,
    macro_event,
    micro_event,
    random_sequence,
    render_sequence,
    write_demo,
    write_video,
)

__all__ = [
    "DEFAULT_FACE",
    "DEMO_DIR",
    "LABELLED_EXPRESSIONS",
    "SPOTTING_EXPRESSIONS",
    "STILL",
    "Blink",
    "HeadMotion",
    "Lighting",
    "RenderedFrames",
    "SynthError",
    "SyntheticEvent",
    "SyntheticSequence",
    "demo_sequence",
    "encode_video",
    "labelled_sequence",
    "load_face",
    "macro_event",
    "micro_event",
    "random_sequence",
    "render_sequence",
    "write_demo",
    "write_video",
]
