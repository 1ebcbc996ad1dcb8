import cv2, numpy as np, dlib, time
from frl_core.benchmarks.generated import benchmark_faces
from frl_core.paths import default_data_root
from frl_core.synth.labelled import labelled_sequence
faces = benchmark_faces(default_data_root(), 10)
det = dlib.get_frontal_face_detector()
clahe = cv2.createCLAHE(2.0, (8, 8))
tm = {}
for name, img in faces:
    seq = labelled_sequence(img, 77, fps=30, seconds=3, n_events=1, face_height=0.9 if name == "astronaut" else 0.55)
    res = {k: 0 for k in ["u0", "u1", "eq_u0", "eq_u1"]}
    for n in range(0, 90, 3):
        g = cv2.cvtColor(seq.frames[n], cv2.COLOR_BGR2GRAY)
        s = np.ascontiguousarray(cv2.resize(g, (320, 240), interpolation=cv2.INTER_AREA))
        e = clahe.apply(s)
        for k, im, up in [("u0", s, 0), ("u1", s, 1), ("eq_u0", e, 0), ("eq_u1", e, 1)]:
            t = time.perf_counter(); r = det(im, up); tm[k] = tm.get(k, 0) + time.perf_counter() - t
            res[k] += len(r) > 0
    print(name, res, flush=True)
print({k: round(v / (30 * 10) * 1000, 1) for k, v in tm.items()}, "ms per call")
t = time.perf_counter()
for _ in range(100): clahe.apply(s)
print("clahe ms", (time.perf_counter() - t) * 10)
