"""The live path assembled and measured: a trained DGM in front of a trunk trained on real flow images.

The composite has no onset frames, so no pair-mode network can be trained end to end on real pairs. The
live path instead joins two parts each trained on what is real for it: the DGM, trained to measure known
displacements on real faces (``dgm_train``), and the fusion trunk and head of a flow-mode FRL-DGT trained
on the composite's 442 real flow images (``configs/megc2019_flow.toml``). In between, the displacement is
rendered as the composite's flow images were made (``motion_encoding = "flow_image"``), so the trunk reads
the kind of input it was trained on. The trunk's calibration (temperature, uncertainty threshold, mirror
averaging) travels along.

Measured here (``python main.py bench live-path``), on what can be measured without real onset frames:

* per LOSO fold, the fold's trunk behind the DGM on the held-out subject's semi-synthetic pairs (the
  real apex face and a pseudo-onset warped from it by the clip's real flow, ``data.pairs``): agreement
  with the flow-mode prediction of the same fold on the same clip, and the pooled UF1 / UAR of both;
* label flips when each frame's landmarks are off by +-1 px, with the pair aligned together as the product
  aligns it (``faces.pair``) and, for comparison, with each face aligned on its own (on those pairs and on
  the real CASME II sequence);
* on the real sequence: the label and probabilities of every (001, k) pair.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from frl_core.faces.au_regions import TEMPLATE_68
from frl_core.data.pairs import MEASURED_PEAK_PX, flow_png_to_displacement, pseudo_onset
from frl_core.faces import RIGID_POINTS
from frl_core.faces.kernels import similarity
from frl_core.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from frl_core.models.frl_dgt import FRLDGT, FRLDGTConfig, ModelConfigError
from frl_core.models.inference import InferenceSettings, Recognizer
from frl_core.metrics import paired_subject_bootstrap, score

LIVE_FIELDS_FROM_DGM = ("img_size", "dgm_channels", "dgm_output_stride", "dgm_init_std", "dgm_iterations")


def assemble(dgm_model: FRLDGT, trunk_model: FRLDGT | list[FRLDGT], dgm_size: int | None = None,
             dgm_mirror: bool | None = None, label_size: int | None = None) -> FRLDGT:
    """A pair-mode FRL-DGT with ``dgm_model``'s DGM and the trunk and head of each flow-mode model in
    ``trunk_model`` (one, or an ensemble of the same architecture: the first becomes ``trunk``/``head``).

    ``dgm_size`` runs the DGM on faces of that side instead of the size it was trained at: it is fully
    convolutional and predicts pixels of its input, and the flow image is blind to the motion's scale.
    ``dgm_mirror`` turns the DGM's mirror averaging at inference on or off (None: as in the DGM's file).
    ``label_size`` runs the DGM a second time, on the pair resized to that side, for the flow image the trunks
    read (``FRLDGTConfig.dgm_label_size``); the displacement shown stays the one at ``dgm_size``."""
    trunks = list(trunk_model) if isinstance(trunk_model, (list, tuple)) else [trunk_model]
    if not trunks:
        raise CheckpointError("the live path needs at least one flow-mode trunk")
    first = trunks[0]
    for trunk in trunks:
        if trunk.input_mode != "flow":
            raise CheckpointError("the trunk must come from a flow-mode checkpoint (trained on flow images)")
        if trunk.config.to_dict() != first.config.to_dict():
            raise CheckpointError("the trunks of an ensemble must share one architecture and class names")
    if dgm_model.dgm is None:
        raise CheckpointError("the DGM must come from a pair-mode checkpoint")
    params = first.config.to_dict()
    dgm_cfg = dgm_model.config.to_dict()
    params.update({k: dgm_cfg[k] for k in LIVE_FIELDS_FROM_DGM})
    if dgm_size is not None:
        if int(dgm_size) % 28 or not 56 <= int(dgm_size) <= 448:
            raise CheckpointError(f"the DGM's face size must be a multiple of 28 between 56 and 448, got {dgm_size}")
        params["img_size"] = int(dgm_size)
    params["dgm_mirror"] = bool(dgm_cfg.get("dgm_mirror", False) if dgm_mirror is None else dgm_mirror)
    params["dgm_label_size"] = 0 if not label_size or int(label_size) == params["img_size"] else int(label_size)
    params.update(input_mode="pair", motion_encoding="flow_image", dgm_features_to_trunk=False,
                  ensemble_size=len(trunks), au_loss_weight=0.0)
    try:
        model = FRLDGT(FRLDGTConfig.from_dict(params))
    except ModelConfigError as err:
        raise CheckpointError(str(err)) from err
    model.variant = getattr(first, "variant", "custom")
    model.dgm.load_state_dict(dgm_model.dgm.state_dict())
    model.trunk.load_state_dict(first.trunk.state_dict())
    model.head.load_state_dict(first.head.state_dict())
    if first.motion_stn is not None:
        model.motion_stn.load_state_dict(first.motion_stn.state_dict())
    for member, trunk in zip(model.members, trunks[1:]):
        member.trunk.load_state_dict(trunk.trunk.state_dict())
        member.head.load_state_dict(trunk.head.state_dict())
        if trunk.motion_stn is not None:
            member.motion_stn.load_state_dict(trunk.motion_stn.state_dict())
    return model.eval()


def ensemble_settings(trunk_metas: list[dict], labels: np.ndarray | None = None) -> InferenceSettings:
    """Inference settings of the live path over these trunks: one trunk's own; for several, each one's
    temperature and a threshold fitted on their averaged inner held-out predictions (``labels`` indexed
    by clip, or None for the labels the calibrations carry) where they were right as often as the
    recipe's ``train.uncertain_max_accuracy`` says."""
    from frl_core.training.calibration import ensemble_uncertain_threshold

    members = [InferenceSettings.from_metadata(m) for m in trunk_metas]
    first = members[0]
    if len(members) == 1:
        return InferenceSettings(first.temperature, first.uncertain_below, first.tta_hflip, register=True)
    if len({m.tta_hflip for m in members}) > 1:
        raise CheckpointError("the trunks of an ensemble disagree on mirror averaging")
    max_accuracy = float((trunk_metas[0].get("train") or {}).get("uncertain_max_accuracy", 0.5))
    try:
        threshold = ensemble_uncertain_threshold([m.get("calibration") for m in trunk_metas], labels, max_accuracy)
    except ValueError as err:
        raise CheckpointError(f"the ensemble's uncertainty threshold cannot be fitted: {err}") from err
    return InferenceSettings(first.temperature, threshold, first.tta_hflip, register=True,
                             member_temperatures=tuple(m.temperature for m in members))


def assemble_files(dgm_path: str | Path, trunk_path: str | Path | list[str | Path], dgm_size: int | None = None,
                   dgm_mirror: bool | None = None, label_size: int | None = None
                   ) -> tuple[FRLDGT, InferenceSettings, dict]:
    """The live model from a DGM file and one or more trunk files, its inference settings and the files'
    metadata (``trunk`` is the first trunk's, ``trunks`` all of them)."""
    paths = list(trunk_path) if isinstance(trunk_path, (list, tuple)) else [trunk_path]
    dgm_model, dgm_meta = load_checkpoint(dgm_path)
    loaded = [load_checkpoint(p) for p in paths]
    metas = [meta for _, meta in loaded]
    settings = ensemble_settings(metas)
    model = assemble(dgm_model, [m for m, _ in loaded], dgm_size, dgm_mirror, label_size)
    # A live file as the DGM's source (a clone has no train-dgm run) runs its DGM at another size than it was
    # trained at, and says which in its metadata.
    trained = (dgm_meta.get("dgm_face_size") or {}).get("trained_at") or dgm_model.config.img_size
    return model, settings, {"dgm": dgm_meta, "trunk": metas[0], "trunks": metas, "dgm_trained_size": int(trained)}


# ------------------------------------------------------------------------------------ perturbations


def realigned(face: np.ndarray, rng: np.random.Generator, noise_px: float = 1.0) -> np.ndarray:
    """``face`` (an aligned crop) as it would be aligned from landmarks off by up to +-``noise_px``
    pixels (uniform, each rigid point and axis on its own)."""
    size = face.shape[0]
    rigid = TEMPLATE_68[list(RIGID_POINTS)] * size
    noisy = rigid + rng.uniform(-noise_px, noise_px, rigid.shape)
    m = similarity(np.ascontiguousarray(noisy), np.ascontiguousarray(rigid))
    return cv2.warpAffine(face, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def realigned_pair(onset: np.ndarray, apex: np.ndarray, rng: np.random.Generator, noise_px: float = 1.0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The pair as the product aligns it (``faces.pair``: one similarity from the mean of the two frames'
    landmarks) when each frame's landmarks are off by up to +-``noise_px`` pixels, as in :func:`realigned`."""
    from frl_core.faces.pair import align_pair, face_patch

    size = onset.shape[0]
    truth = TEMPLATE_68 * size
    patches = [face_patch(face, truth + rng.uniform(-noise_px, noise_px, truth.shape), size) for face in (onset, apex)]
    pair = align_pair(patches[0], patches[1], size)
    return pair.onset, pair.apex


def semi_synthetic_pair(apex_gray: np.ndarray, flow_bgr: np.ndarray, peak_px: float = MEASURED_PEAK_PX
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(pseudo-onset, apex) at 224 x 224 from a composite clip (``data.pairs``)."""
    apex = apex_gray if apex_gray.shape == (224, 224) else cv2.resize(apex_gray, (224, 224), interpolation=cv2.INTER_AREA)
    disp = flow_png_to_displacement(flow_bgr, peak_px, 224)
    return pseudo_onset(apex, disp), apex


def true_flow_image(flow_bgr: np.ndarray) -> np.ndarray:
    """The flow image of a semi-synthetic pair's known displacement (what a perfect DGM would give)."""
    from frl_core.motion.flow_image import flow_image

    return flow_image(flow_png_to_displacement(flow_bgr, MEASURED_PEAK_PX, 224))


# --------------------------------------------------------------------------------------- evaluation


def _as_runs(flow_run: Path | list[Path]) -> list[Path]:
    return [Path(r) for r in (flow_run if isinstance(flow_run, (list, tuple)) else [flow_run])]


def _fold_ensemble(flow_runs: list[Path], subject: str
                   ) -> tuple[list[FRLDGT], list[dict], list[dict], np.ndarray]:
    """Each run's trunk for the fold of ``subject``, its metadata with the fold's calibration, its record,
    and the runs' flow-mode probabilities of the fold's clips averaged (calibrated where they were)."""
    trunks, metas, records = [], [], []
    for run in flow_runs:
        record = json.loads((run / "folds" / f"{subject}.json").read_text())
        trunk, meta = load_checkpoint(run / "checkpoints" / f"{subject}.pt")
        trunks.append(trunk)
        metas.append({**meta, "calibration": record.get("calibration")})
        records.append(record)
    flow_probs = np.mean([np.asarray(r.get("calibrated_probabilities") or r["probabilities"]) for r in records],
                         axis=0)
    return trunks, metas, records, flow_probs


def _bench_settings(trunk_metas: list[dict], labels: np.ndarray) -> InferenceSettings:
    """:func:`ensemble_settings`, or for runs trained without inner calibration folds (which leave each
    trunk as it is: a cheaper run for this bench) plain softmax averages that label nothing uncertain."""
    if len(trunk_metas) > 1 and not any(m.get("calibration") for m in trunk_metas):
        members = [InferenceSettings.from_metadata(m) for m in trunk_metas]
        return InferenceSettings(1.0, 0.0, members[0].tta_hflip, register=True,
                                 member_temperatures=(1.0,) * len(members))
    return ensemble_settings(trunk_metas, labels)


def evaluate_loso(flow_run: Path | list[Path], dgm_path: Path, data_root: Path, noise_draws: int = 2, seed: int = 0,
                  log=print, register: bool = True, dgm_size: int | None = None,
                  dgm_mirror: bool | None = None) -> dict:
    """The live path per fold of a flow-mode LOSO run saved with checkpoints and calibration; with several
    runs (seeds of one recipe), each fold's trunks as an ensemble, against the runs' averaged flow-mode
    probabilities."""
    from frl_core.data.megc2019 import Megc2019
    from frl_core.motion.flow_image import channel_correlations, dis_flow, flow_image

    runs = _as_runs(flow_run)
    ds = Megc2019(data_root)
    dgm_model, _ = load_checkpoint(dgm_path)
    fold_files = sorted((runs[0] / "folds").glob("*.json"))
    if not fold_files:
        raise FileNotFoundError(f"no fold results in {runs[0] / 'folds'}")
    rng = np.random.default_rng(seed)
    rows = []
    started = time.perf_counter()
    for n, path in enumerate(fold_files):
        trunks, metas, records, flow_probs = _fold_ensemble(runs, path.stem)
        record = records[0]
        settings = replace(_bench_settings(metas, ds.labels), register=register)
        live = Recognizer(assemble(dgm_model, trunks, dgm_size, dgm_mirror), "cpu", settings=settings)
        pairs = [semi_synthetic_pair(ds.apexes[i], ds.flows[i]) for i in record["indices"]]
        recs = live.recognize(pairs)
        live_probs = np.array([[r.probabilities[c] for c in live.class_names] for r in recs])
        flips, shown, own = [], [], []
        for _ in range(noise_draws):
            noisy = live.recognize([realigned_pair(o, a, rng) for o, a in pairs])
            flips += [int(a.top_class != b.top_class) for a, b in zip(recs, noisy)]
            shown += [int(a.label != b.label) for a, b in zip(recs, noisy)]
            separate = live.recognize([(realigned(o, rng), realigned(a, rng)) for o, a in pairs])
            own += [int(a.top_class != b.top_class) for a, b in zip(recs, separate)]
        for k, i in enumerate(record["indices"]):
            truth = true_flow_image(ds.flows[i])
            dis = flow_image(dis_flow(pairs[k][0], recs[k].registered_apex))
            rows.append({"key": record["keys"][k], "subject": record["subject"], "dataset": ds.clips[i].dataset,
                         "image_r_dgm": list(channel_correlations(recs[k].flow_image, truth).values()),
                         "image_r_dis": list(channel_correlations(dis, truth).values()),
                         "y_true": int(record["y_true"][k]), "flow_pred": int(flow_probs[k].argmax()),
                         "live_pred": int(live_probs[k].argmax()), "live_conf": float(live_probs[k].max()),
                         "live_uncertain": bool(recs[k].label == "uncertain"),
                         "flips": flips[k::len(pairs)] if noise_draws else [],
                         "flips_each_face_aligned": own[k::len(pairs)] if noise_draws else [],
                         "shown_label_changes": shown[k::len(pairs)] if noise_draws else []})
        if (n + 1) % 10 == 0:
            log(f"  {n + 1}/{len(fold_files)} folds, {time.perf_counter() - started:.0f} s")
    y = np.array([r["y_true"] for r in rows])
    flow_pred = np.array([r["flow_pred"] for r in rows])
    live_pred = np.array([r["live_pred"] for r in rows])
    all_flips = [f for r in rows for f in r["flips"]]
    spread = paired_subject_bootstrap(y, flow_pred, live_pred, [f"{r['dataset']}/{r['subject']}" for r in rows])
    return {
        "folds": len(fold_files), "clips": len(rows),
        "agreement": float((flow_pred == live_pred).mean()),
        "flow": score(y, flow_pred, 3).as_dict(), "live": score(y, live_pred, 3).as_dict(),
        "subject_bootstrap": spread.as_dict(),
        "label_flips_landmark_noise": float(np.mean(all_flips)) if all_flips else None,
        "label_flips_each_face_aligned": (float(np.mean([f for r in rows for f in r["flips_each_face_aligned"]]))
                                          if all_flips else None),
        "label_flips_confident": (float(np.mean([f for r in rows if not r["live_uncertain"] for f in r["flips"]]))
                                  if all_flips else None),
        "shown_label_changes": (float(np.mean([f for r in rows for f in r["shown_label_changes"]]))
                                if all_flips else None),
        "trunks": len(runs),
        "image_correlation": {who: dict(zip(("strain", "v", "u"), np.nanmean([r[f"image_r_{who}"] for r in rows], axis=0)
                                            .round(4).tolist())) for who in ("dgm", "dis")},
        "uncertain_share": float(np.mean([r["live_uncertain"] for r in rows])),
        "per_dataset_agreement": {d: float(np.mean([r["flow_pred"] == r["live_pred"] for r in rows if r["dataset"] == d]))
                                  for d in sorted({r["dataset"] for r in rows})},
        "agreement_by_confidence": agreement_by_confidence(rows),
        "rows": rows,
    }


def agreement_by_confidence(rows: list[dict], thresholds: tuple[float, ...] = (0.6, 0.7)) -> dict:
    """Where the live path and flow mode part: the agreement on the pairs whose live top probability reaches
    each threshold (and the share of pairs that do), and how many of the disagreements are negative against
    positive. A label the live path is sure of is the one a user acts on; the unsure ones are what the
    ``uncertain`` outcome is for."""
    conf = np.array([r["live_conf"] for r in rows])
    flow = np.array([r["flow_pred"] for r in rows])
    live = np.array([r["live_pred"] for r in rows])
    agree = flow == live
    out: dict = {}
    for t in thresholds:
        sure = conf >= t
        out[f"{t:g}"] = {"share": float(sure.mean()), "agreement": float(agree[sure].mean()) if sure.any() else None}
    parted = ~agree
    neg_pos = {0, 1}
    out["negative_positive_share_of_disagreements"] = (
        float(np.mean([{int(a), int(b)} == neg_pos for a, b in zip(flow[parted], live[parted])])) if parted.any()
        else None)
    return out


def evaluate_oracle(flow_run: Path | list[Path], data_root: Path) -> dict:
    """The ceiling the semi-synthetic pairs allow: each fold's trunk(s) on the flow image rendered from the
    pair's *true* displacement (a perfect DGM, no registration), against the flow-mode predictions."""
    import torch

    from frl_core.data.megc2019 import Megc2019
    from frl_core.models.frl_dgt import mirror_flow_image
    from frl_core.training.calibration import calibrated_probabilities

    runs = _as_runs(flow_run)
    ds = Megc2019(data_root)
    y, oracle, flow = [], [], []
    for path in sorted((runs[0] / "folds").glob("*.json")):
        trunks, metas, records, flow_probs = _fold_ensemble(runs, path.stem)
        images = np.stack([true_flow_image(ds.flows[i]) for i in records[0]["indices"]])
        x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
        probs = []
        for trunk, meta in zip(trunks, metas):
            settings = InferenceSettings.from_metadata(meta)
            with torch.no_grad():
                plain, mirrored = trunk(x).numpy(), trunk(mirror_flow_image(x)).numpy()
            probs.append(calibrated_probabilities(plain, mirrored if settings.tta_hflip else None, settings.temperature))
        oracle += np.mean(probs, axis=0).argmax(1).tolist()
        flow += flow_probs.argmax(1).tolist()
        y += records[0]["y_true"]
    y, oracle, flow = np.array(y), np.array(oracle), np.array(flow)
    return {"agreement": float((oracle == flow).mean()), "oracle": score(y, oracle, 3).as_dict()}


def evaluate_sequence(recognizer: Recognizer, data_root: Path, noise_draws: int = 20, seed: int = 0) -> dict | None:
    """The live path on the real sequence's (001, k) pairs: labels, probabilities, flips under noise."""
    from frl_core.motion.flow_image import composite_face
    from frl_core.training.dgm_train import SEQUENCE_DIR

    paths = sorted((Path(data_root) / SEQUENCE_DIR).glob("*.jpg"))
    if len(paths) < 2:
        return None
    frames = [composite_face(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)) for p in paths]
    rng = np.random.default_rng(seed)
    out = []
    for k in range(1, len(frames)):
        rec = recognizer.recognize([(frames[0], frames[k])])[0]
        noisy = recognizer.recognize([realigned_pair(frames[0], frames[k], rng) for _ in range(noise_draws)])
        separate = recognizer.recognize([(realigned(frames[0], rng), realigned(frames[k], rng))
                                         for _ in range(noise_draws)])
        out.append({"pair": f"{paths[0].stem}->{paths[k].stem}", "label": rec.label,
                    "probabilities": rec.probabilities,
                    "flips": float(np.mean([r.top_class != rec.top_class for r in noisy])),
                    "flips_each_face_aligned": float(np.mean([r.top_class != rec.top_class for r in separate]))})
    return {"pairs": out, "label_flips_landmark_noise": float(np.mean([p["flips"] for p in out])),
            "label_flips_each_face_aligned": float(np.mean([p["flips_each_face_aligned"] for p in out]))}


# ------------------------------------------------------------------------------------------------ CLI


def trunk_data(trunk_meta: dict) -> str:
    """What a trunk was trained on, with the synthetic banks its config added named even where the trunk's
    own metadata predates saying so (trunks saved before 2026-12-05 said only "real")."""
    from frl_core.training.au_augment import AU_BANK_LABEL, CLIP_BANK_LABEL

    label = str(trunk_meta.get("data") or "real (published MEGC2019 flow images)")
    train = trunk_meta.get("train") or {}
    if float(train.get("au_augment", 0) or 0) > 0 and AU_BANK_LABEL not in label:
        label += f" + {AU_BANK_LABEL}"
    if train.get("au_augment_clips") and CLIP_BANK_LABEL not in label:
        label += f" + {CLIP_BANK_LABEL}"
    return label


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dgm", required=True, help="DGM checkpoint (python main.py train-dgm)")
    parser.add_argument("--trunk", required=True, nargs="+",
                        help="flow-mode checkpoint(s) trained on all clips, calibrated; several (e.g. one per "
                             "training seed) make an ensemble whose calibrated probabilities are averaged")
    parser.add_argument("--save", required=True, help="where to write the live-path checkpoint (.pt)")
    parser.add_argument("--dgm-size", type=int, default=None,
                        help="face side the DGM runs at in the live path (default: the size it was trained at; "
                             "the shipped file runs its 112-px-trained DGM at 224)")
    parser.add_argument("--dgm-mirror", action="store_true",
                        help="average the DGM's estimate with its estimate on the mirrored pair (twice the DGM's "
                             "cost per event)")
    parser.add_argument("--dgm-label-size", type=int, default=None,
                        help="also run the DGM on the pair at this side for the flow image the trunks read (the "
                             "size their banks were rendered at, e.g. 112); the displacement shown stays at "
                             "--dgm-size")
    parser.add_argument("--figures", type=Path, default=None,
                        help="a JSON object of measured figures (name -> one line) to carry in the file, "
                             "printed by `main.py evaluate FILE`")


def run(args: argparse.Namespace) -> int:
    try:
        model, settings, meta = assemble_files(args.dgm, args.trunk, args.dgm_size, args.dgm_mirror or None,
                                               args.dgm_label_size)
    except (CheckpointError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    trunk_meta, dgm_meta = meta["trunk"], meta["dgm"]
    trunks = meta["trunks"]
    metadata = {
        "live_path": "DGM trained on known displacements of real faces + trunk and head of a flow-mode "
                     "FRL-DGT trained on the MEGC2019 composite's real flow images"
                     + (" and synthetic flow images" if trunk_meta.get("train", {}).get("au_augment") else ""),
        "input": "onset and apex faces aligned together by frl_core.faces.align_pair (224 px); the apex is registered "
                 "onto the onset (frl_core.motion.registration), both resized to the DGM's input; the displacement "
                 "is rendered as a composite-style flow image (frl_core.motion.flow_image) for the trunk",
        "trained_on": {"dgm": dgm_meta.get("data"),
                       "trunk": f"{trunk_meta.get('trained_on')}: {trunk_data(trunk_meta)}"},
        "ensemble": {"trunks": len(trunks), "seeds": [m.get("seed") for m in trunks]},
        "data_licence": "MEGC2019 composite (CASME II, SAMM, SMIC-HS): non-commercial research only",
        "dgm_training": dgm_meta.get("dgm_training"),
        "dgm_face_size": {"trained_at": meta["dgm_trained_size"], "runs_at": int(model.config.img_size),
                          **({"labels_at": int(model.config.dgm_label_size)} if model.config.dgm_label_size else {})},
        "dgm_mirror_averaging": bool(model.config.dgm_mirror),
        "trunk_training": {"train": trunk_meta.get("train"), "model": trunk_meta.get("model"),
                           "calibration": [{k: v for k, v in (m.get("calibration") or {}).items()
                                            if not k.startswith("inner_logits") and k not in ("inner_indices", "inner_labels")}
                                           for m in trunks]},
        "inference": settings.as_dict(),
        "model_card": "assets/weights/MODEL_CARD.md",
    }
    if args.figures is not None:
        try:
            figures = json.loads(Path(args.figures).read_text())
        except (OSError, ValueError) as err:
            print(f"error: cannot read --figures {args.figures}: {err}", file=sys.stderr)
            return 2
        if not isinstance(figures, dict):
            print("error: --figures must hold a JSON object of name -> text", file=sys.stderr)
            return 2
        metadata["figures"] = {str(k): str(v) for k, v in figures.items()}
    path = save_checkpoint(model, args.save, metadata=metadata)
    temps = settings.member_temperatures or (settings.temperature,)
    print(f"saved {path}: {len(trunks)} trunk(s), temperature {' / '.join(f'{t:.3f}' for t in temps)}, "
          f"uncertain below {settings.uncertain_below:.3f}, mirror averaging {'on' if settings.tta_hflip else 'off'}")
    return 0


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flow-run", type=Path, default=None, nargs="+",
                        help="a flow-mode LOSO seed folder saved with --save-checkpoints and calibration "
                             "(e.g. runs/flow_cal/seed_1), or several seeds' folders to measure their ensemble; "
                             "without it only the real sequence is measured")
    parser.add_argument("--dgm", type=Path, default=None, help="DGM checkpoint for the LOSO part "
                        "(default: the shipped live-path weights' DGM)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="live-path checkpoint for the real sequence (default: the shipped one)")
    parser.add_argument("--dgm-size", type=int, default=None,
                        help="LOSO part: run the DGM on faces of this side (default: the size in the DGM's file)")
    parser.add_argument("--dgm-mirror", action="store_true",
                        help="LOSO part: average the DGM's estimate with its estimate on the mirrored pair")
    parser.add_argument("--noise-draws", type=int, default=2, help="landmark-noise draws per clip (LOSO part)")
    parser.add_argument("--no-register", action="store_true",
                        help="LOSO part: skip registration (to see what it changes on the composite's flows)")
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")


def run_bench(args: argparse.Namespace) -> int:
    from frl_core.models.inference import default_checkpoint_path
    from frl_core.paths import default_data_root

    data_root = args.data_root or default_data_root()
    live_path = args.checkpoint or default_checkpoint_path()
    report: dict = {}
    try:
        recognizer = Recognizer.from_checkpoint(live_path, "cpu")
    except (CheckpointError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    seq = evaluate_sequence(recognizer, data_root)
    report["sequence"] = seq
    if seq:
        print(f"real sequence (CASME II sub01/EP02_01f, positive), {live_path}:")
        for p in seq["pairs"]:
            probs = " ".join(f"{k} {v:.2f}" for k, v in p["probabilities"].items())
            print(f"  {p['pair']}: {p['label']:9s} ({probs})  flips under +-1 px landmark noise {p['flips']:.0%}"
                  f" (each face aligned on its own {p['flips_each_face_aligned']:.0%})")
        print(f"  label flips under landmark noise: {seq['label_flips_landmark_noise']:.1%} with the pair aligned "
              f"together as the product aligns it; {seq['label_flips_each_face_aligned']:.1%} with each face aligned "
              "on its own")
    if args.flow_run is not None:
        try:
            loso = evaluate_loso(list(args.flow_run), args.dgm or live_path, data_root, args.noise_draws,
                                 register=not args.no_register, dgm_size=args.dgm_size,
                                 dgm_mirror=args.dgm_mirror or None)
        except (CheckpointError, FileNotFoundError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        report["loso"] = loso
        own = "each fold's own trunk" if loso["trunks"] == 1 else f"each fold's own {loso['trunks']} trunks as an ensemble"
        print(f"semi-synthetic pairs, {loso['folds']} LOSO folds, {loso['clips']} clips ({own}"
              f"{'' if not args.no_register else ', no registration'}):")
        print(f"  agreement with flow mode {loso['agreement']:.1%}  "
              + "  ".join(f"{d} {a:.1%}" for d, a in loso["per_dataset_agreement"].items()))
        sure = loso["agreement_by_confidence"]
        parts = [f"{t} {v['agreement']:.1%} ({v['share']:.0%} of the pairs)" for t, v in sure.items()
                 if isinstance(v, dict) and v["agreement"] is not None]
        if parts:
            neg_pos = sure["negative_positive_share_of_disagreements"]
            print("  agreement where the live path's top probability is at least " + ", ".join(parts)
                  + ("" if neg_pos is None else f"; negative against positive in {neg_pos:.0%} of the disagreements"))
        print(f"  UF1 / UAR: flow mode {loso['flow']['uf1']:.4f} / {loso['flow']['uar']:.4f}   "
              f"live path {loso['live']['uf1']:.4f} / {loso['live']['uar']:.4f}")
        boot = loso["subject_bootstrap"]
        print(f"  with other subjects of the same kind (95 % of {boot['resamples']} resamples by subject): agreement "
              f"{boot['agreement_interval'][0]:.1%}-{boot['agreement_interval'][1]:.1%}, flow mode's UF1 above the "
              f"live path's by {boot['gap']:.4f} ({boot['gap_interval'][0]:+.4f} to {boot['gap_interval'][1]:+.4f})")
        img = loso["image_correlation"]
        print("  flow image against the one rendered from the pair's true displacement, r strain / v / u: the DGM's "
              + " / ".join(f"{v:.3f}" for v in img["dgm"].values()) + "; DIS optical flow on the same registered pair "
              + " / ".join(f"{v:.3f}" for v in img["dis"].values()))
        if loso["label_flips_landmark_noise"] is None:
            print(f"  labelled uncertain {loso['uncertain_share']:.1%}; label flips not measured (--noise-draws 0)")
        else:
            print(f"  label flips under +-1 px landmark noise {loso['label_flips_landmark_noise']:.1%} "
                  f"({loso['label_flips_confident']:.1%} of the pairs not labelled uncertain; each face aligned on "
                  f"its own instead of the pair together: {loso['label_flips_each_face_aligned']:.1%}), "
                  f"labelled uncertain {loso['uncertain_share']:.1%}; shown label (uncertain included) changed "
                  f"{loso['shown_label_changes']:.1%}")
        oracle = evaluate_oracle(list(args.flow_run), data_root)
        report["oracle"] = oracle
        print(f"  ceiling of these pairs (each trunk on the pair's true displacement, no DGM, no registration): "
              f"agreement {oracle['agreement']:.1%}, UF1 {oracle['oracle']['uf1']:.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0
