"""``python main.py bench clip``: how well clip mode finds the apex and the label of one-movement clips.

Two kinds of clip: the labelled real-face benchmark's micro-expressions (``synth bench --labelled``: real
faces, drift, roll, uneven light, blinks, known apex and class), each cut from its onset to its offset as a
dataset clip is; and, when the research data is there, the real CASME II sequence with its apex curve.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--faces", type=int, default=5, help="faces of the labelled benchmark (astronaut + composite)")
    parser.add_argument("--sequences", type=int, default=2, help="sequences per face (4 micro-expressions each)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weights", default=None, help="checkpoint (default: the shipped one)")


def run(args: argparse.Namespace) -> int:
    from frl_core.benchmarks.generated import benchmark_faces
    from frl_core.engine.analysis import EngineConfig, EngineError, load_recognizer
    from frl_core.engine.clip import ClipAnalyzer
    from frl_core.paths import default_data_root
    from frl_core.synth.labelled import labelled_sequence

    try:
        recognizer = load_recognizer(args.weights, "cpu")
    except EngineError as err:
        print(f"error: {err}")
        return 4
    analyzer = ClipAnalyzer(EngineConfig(fps=30.0), recognizer)
    t0 = time.perf_counter()
    errors, found_right, found_uncertain, true_right, no_face = [], 0, 0, 0, []
    for f, (name, image) in enumerate(benchmark_faces(default_data_root(), args.faces)):
        for k in range(args.sequences):
            seed = args.seed + 1000 * f + k
            seq = labelled_sequence(image, seed, face_height=0.9 if name == "astronaut" else 0.55)
            for e in seq.events:
                results, aligned, patches = analyzer.faces([seq.frames[i] for i in range(e.onset, e.offset + 1)], seq.fps)
                if all(a is None for a in aligned):
                    no_face.append(f"{name} seed {seed} onset {e.onset}")
                    continue
                found = analyzer.analyse_aligned(results, aligned, seq.fps, patches=patches).event
                given = analyzer.analyse_aligned(results, aligned, seq.fps, apex=e.apex - e.onset, patches=patches).event
                errors.append(abs(found.apex_index - (e.apex - e.onset)))
                found_right += found.label == e.label
                found_uncertain += found.label == "uncertain"
                true_right += given.label == e.label
    n = len(errors)
    err = np.array(errors)
    print(f"labelled benchmark, {n} micro-expressions cut onset..offset as clips ({len(no_face)} without a face "
          f"in any frame{': ' + ', '.join(no_face) if no_face else ''}), {time.perf_counter() - t0:.0f} s")
    print(f"apex error (frames at 30 fps): median {np.median(err):.1f}, mean {err.mean():.2f}, max {err.max()}, "
          f"within 1 frame {np.mean(err <= 1):.3f}")
    print(f"label right: with the found apex {found_right}/{n} ({found_uncertain} uncertain), "
          f"with the true apex {true_right}/{n}")
    folder = default_data_root() / "sequences" / "casme2_sub_clip_resampled"
    paths = sorted(folder.glob("*.jpg"))
    if paths:
        frames = [cv2.imread(str(p)) for p in paths]
        for fps in (30.0, 200.0):
            result = ClipAnalyzer(EngineConfig(fps=fps), recognizer).analyse(frames, fps)
            event = result.event
            print(f"real CASME II sequence at {fps:g} fps: apex {paths[event.apex_index].name}, {event.label_text()}; "
                  f"smoothed motion from the onset " + " ".join(f"{v:.3f}" for v in result.apex_curve))
    return 0
