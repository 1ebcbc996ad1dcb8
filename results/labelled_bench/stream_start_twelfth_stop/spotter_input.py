"""Records what the streaming spotter is given (frame index, aligned face or None) while an engine runs."""
import numpy as np
from frl_core.spotting import streaming

log = []
_push = streaming.StreamingSpotter.push


def _recording_push(self, index, timestamp, aligned):
    log.append((index, None if aligned is None else np.array(aligned, copy=True)))
    return _push(self, index, timestamp, aligned)


streaming.StreamingSpotter.push = _recording_push
