"""The aligned (onset, apex) pairs the labelled benchmark reads for one movement, per encoding, saved for
``analyse_pairs.py``: the scenes of ``../dimpler_video_twenty_fourth_stop/one_movement.py`` (five faces, two seeds,
four events a sequence), encoded, analysed by the engine, each event's true onset and apex aligned together.

    PATH=<ffmpeg with libx264>:$PATH PYTHONPATH=. python dump_pairs.py dimpler h264:0,mp4v,h264 pairs.npz
"""
import sys
import tempfile
from pathlib import Path

import numpy as np

import frl_core.synth.labelled as labelled
from frl_core.benchmarks.generated import benchmark_faces, encode_video
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.faces.pair import align_pair, face_patch
from frl_core.io.sources import open_source
from frl_core.paths import default_data_root


def main() -> None:
    movement, codecs, out = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
    labelled.LABELLED_EXPRESSIONS = {"negative": (movement,), "positive": (movement,), "surprise": (movement,)}
    seqs = [(name, labelled.labelled_sequence(image, 24000 + 100 * k + s, n_events=4))
            for k, (name, image) in enumerate(benchmark_faces(default_data_root(), 5)) for s in (0, 1)]
    arrays = {}
    with tempfile.TemporaryDirectory() as work:
        for codec in codecs:
            name_, _, crf = codec.partition(":")
            engine = AnalysisEngine(EngineConfig(fps=30.0))
            onsets, apexes, ids = [], [], []
            for name, seq in seqs:
                engine.reset()
                suffix = "mp4" if name_ == "mp4v" else "mkv"
                path = encode_video(seq, Path(work) / f"{name.replace('/', '_')}_{seq.seed}.{suffix}", name_,
                                    int(crf) if crf else None)
                wanted = {i for e in seq.events for i in (e.onset, e.apex)}
                kept = {}

                def keep(frame, result, _events, kept=kept, wanted=wanted):
                    if result.index in wanted and result.face is not None:
                        kept[result.index] = face_patch(frame, result.face.landmarks, 224)

                source = open_source(str(path))
                try:
                    analyse_source(source, engine, on_frame=keep)
                finally:
                    source.close()
                for j, e in enumerate(seq.events):
                    if e.onset in kept and e.apex in kept:
                        pair = align_pair(kept[e.onset], kept[e.apex], 224)
                        onsets.append(pair.onset)
                        apexes.append(pair.apex)
                        ids.append(f"{name}/{seq.seed}/{j}")
            arrays.update({f"{codec}__onset": np.stack(onsets), f"{codec}__apex": np.stack(apexes),
                           f"{codec}__ids": np.array(ids)})
            print(codec, len(onsets), flush=True)
    np.savez_compressed(out, **arrays)


if __name__ == "__main__":
    main()
