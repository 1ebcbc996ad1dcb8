"""Records what the streaming spotter is given (frame index, aligned face or None) while an engine runs, and
(``record_sequences``, since the nineteenth stop) the loop the labelled recorders share: encode, run the engine,
keep its input, the truth and its events."""
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from frl_core.spotting import streaming

log = []
_push = streaming.StreamingSpotter.push


def _recording_push(self, index, timestamp, aligned):
    log.append((index, None if aligned is None else np.array(aligned, copy=True)))
    return _push(self, index, timestamp, aligned)


streaming.StreamingSpotter.push = _recording_push


def record_sequences(seqs, codec_specs: str, out: Path, prefix: str) -> None:
    """Each (face name, labelled sequence) of ``seqs`` encoded in each of ``codec_specs`` (``codec[:crf],...``) and
    run through the engine (tracker settings from ``$FACE_CONFIG=key=value,...``); one
    ``<prefix>_<codec><crf>_<face>_<seed>.npz`` each in ``out``: frame indices, which frames had a face, the
    aligned faces, and the truth and the engine's events (onset, apex, offset, label)."""
    from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
    from frl_core.faces import FaceConfig
    from frl_core.io.sources import open_source
    from frl_core.synth.labelled import encode_video

    overrides = [kv.split("=") for kv in os.environ.get("FACE_CONFIG", "").split(",") if kv]
    face_config = FaceConfig(**{k: float(v) for k, v in overrides})
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for spec in codec_specs.split(","):
            codec, _, crf = spec.partition(":")
            crf = int(crf) if crf else None
            tag = codec + (str(crf) if crf is not None else "")
            engine = None
            for fn, seq in seqs:
                path = encode_video(seq, Path(tmp) / f"v.{'mp4' if codec == 'mp4v' else 'mkv'}", codec, crf)
                engine = engine or AnalysisEngine(EngineConfig(fps=seq.fps, face=face_config))
                engine.reset()
                log.clear()
                with open_source(str(path)) as src:
                    found = analyse_source(src, engine)
                has = np.array([a is not None for _, a in log], bool)
                blank = np.zeros((224, 224), np.uint8)
                faces = np.stack([blank if a is None else a for _, a in log]) if log else blank[None][:0]
                truth = [(e.onset, e.apex, e.offset, e.label) for e in seq.events]
                events = [(e.onset_index, e.apex_index, e.offset_index, e.label) for e in found]
                np.savez_compressed(out / f"{prefix}_{tag}_{fn.replace('/', '_')}_{seq.seed}.npz",
                                    index=np.array([i for i, _ in log]), has=has, faces=faces,
                                    meta=json.dumps({"fps": seq.fps, "truth": truth, "engine": events}))
                print(prefix, tag, fn, seq.seed, "faces", int(has.sum()), "/", len(has), "events", len(truth),
                      "engine found", len(events), flush=True)
