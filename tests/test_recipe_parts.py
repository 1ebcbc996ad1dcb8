"""Recipe parts added for accuracy and for useful displacement maps: flow zero level, mirror TTA, DGM warm-up."""

import numpy as np
import pytest
import torch

from frl_core.data.pairs import pseudo_onset, random_smooth_displacement
from frl_core.models import create_model
from frl_core.models.frl_dgt import ModelConfigError
from frl_core.training.dgm_pretrain import endpoint_error, pretrain_dgm, synthetic_pair_batch
from frl_core.models.frl_dgt import mirror_flow_image
from frl_core.training.samples import SampleSet, mirror_batch


def _textured_faces(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth random textures: enough image gradient everywhere for motion to be observable."""
    import cv2

    rng = np.random.default_rng(seed)
    faces = []
    for _ in range(n):
        noise = rng.random((size // 4, size // 4)).astype(np.float32)
        faces.append((cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1) * 255).astype(np.uint8))
    return np.stack(faces)


def _sample_set(n: int, size: int) -> SampleSet:
    rng = np.random.default_rng(1)
    return SampleSet(class_names=("negative", "positive", "surprise"), labels=rng.integers(0, 3, n),
                     subjects=[f"s{i % 4}" for i in range(n)], datasets=["synthetic"] * n,
                     keys=[str(i) for i in range(n)], flows=rng.integers(0, 256, (n, 28, 28, 3), dtype=np.uint8),
                     apexes=_textured_faces(n, size))


def test_median_flow_zero_level_maps_a_still_face_to_zero_motion():
    model = create_model("frl_dgt_small", input_mode="flow", flow_zero="median", motion_size=28)
    flow = torch.full((1, 3, 28, 28), 0.37)
    flow[:, 1:, 10:14, 10:14] = 0.9  # a small moving patch on an otherwise still face
    motion = model.motion_from_flow(flow)
    assert torch.allclose(motion[:, 1:, 0, 0], torch.zeros(1, 2))
    assert motion[0, 1, 12, 12] > 0.5
    with pytest.raises(ModelConfigError, match="flow_zero"):
        create_model("frl_dgt_small", input_mode="flow", flow_zero="mean")


def test_mirror_batch_flips_faces_and_negates_horizontal_flow():
    flow = torch.rand(2, 3, 28, 28)
    onset = torch.rand(2, 1, 16, 16)
    mirrored = mirror_batch({"flow": flow, "onset": onset, "apex": onset, "label": torch.tensor([0, 1])})
    assert torch.equal(mirrored["flow"], mirror_flow_image(flow))
    assert torch.equal(mirrored["onset"], torch.flip(onset, dims=[3]))
    assert torch.equal(mirror_batch(mirrored)["flow"], flow)


def test_random_smooth_displacement_has_the_asked_peak_and_warps_consistently():
    rng = np.random.default_rng(3)
    disp = random_smooth_displacement(rng, 64, 2.0)
    assert disp.shape == (2, 64, 64) and disp.dtype == np.float32
    assert 1.5 < float(np.sqrt((disp**2).sum(0)).max()) < 2.5
    face = _textured_faces(1, 64)[0]
    assert pseudo_onset(face, np.zeros_like(disp)).tolist() == face.tolist()


@pytest.mark.slow
def test_dgm_warm_up_lowers_the_end_point_error_on_held_out_faces():
    torch.manual_seed(0)
    size = 48
    samples = _sample_set(24, size)
    model = create_model("frl_dgt_small", input_mode="pair", img_size=size, teacher_weight=10.0)
    held_out = SampleSet(**{**samples.__dict__, "apexes": _textured_faces(8, size, seed=9), "labels": samples.labels[:8],
                            "subjects": samples.subjects[:8], "datasets": samples.datasets[:8], "keys": samples.keys[:8],
                            "flows": samples.flows[:8], "_eval_pairs": {}, "_flow_tensor": None})
    batch = synthetic_pair_batch(held_out, np.arange(8), size, np.random.default_rng(7), (1.0, 3.0))
    before = endpoint_error(model, batch)
    losses = pretrain_dgm(model, samples, np.arange(24), {"dgm_pretrain_steps": 120, "batch_size": 16,
                                                         "dgm_pretrain_lr": 3e-3, "dgm_pretrain_peak_px": [1.0, 3.0]},
                          torch.device("cpu"), np.random.default_rng(0))
    after = endpoint_error(model, batch)
    assert len(losses) == 120
    assert after < 0.85 * before, (before, after)


def test_synthetic_au_items_join_only_the_folds_of_their_subjects():
    from frl_core.training.au_augment import AugmentBank
    from frl_core.training.loop import train_model

    samples = _sample_set(12, 32)
    rng = np.random.default_rng(2)
    samples.augment = AugmentBank(rng.integers(0, 256, (8, 28, 28, 3), dtype=np.uint8),
                                  np.array([0, 1, 2, 0, 1, 2, 0, 1]), [f"s{i % 4}" for i in range(8)], ["smile"] * 8)
    train = np.array([i for i in range(12) if samples.subjects[i] != "s3"])
    extra = samples.augment_indices(train)
    assert len(extra) == 6 and extra.min() >= len(samples)
    assert all(samples.augment.subjects[i - len(samples)] != "s3" for i in extra)
    assert samples.flow_tensor().shape[0] == 20 and len(samples.all_labels) == 20
    config = {"model": {"input_mode": "flow"}, "train": {"epochs": 1, "batch_size": 13, "lr": 1e-3,
                                                         "weight_decay": 0.0, "au_augment": 0.5}}
    seen = []
    model = create_model("frl_dgt_small", input_mode="flow", motion_size=28)
    original = model.training_losses

    def spy(batch):
        seen.append(batch["flow"].shape[0])
        return original(batch)

    model.training_losses = spy
    train_model(model, samples, train, config, torch.device("cpu"), seed=1)
    assert sum(seen) == len(train) + round(0.5 * len(train))  # real clips plus half as many synthetic


def test_clip_bank_renders_each_clip_as_the_live_path_reads_its_pair(data_root):
    """``train.au_augment_clips``: a training clip's motion, through registration and the DGM, is the very
    flow image the live path's trunk reads for that pair, with the clip's label and subject."""
    from frl_core.data.megc2019 import Megc2019
    from frl_core.models.inference import Recognizer, default_checkpoint_path
    from frl_core.training.au_augment import build_clip_bank
    from frl_core.training.live_path import semi_synthetic_pair

    ds = Megc2019(data_root)
    bank = build_clip_bank(default_checkpoint_path(), data_root, tuple(ds.class_names))
    assert len(bank) == len(ds.clips) and bank.subjects == list(ds.subjects)
    assert np.array_equal(bank.labels, ds.labels)
    live = Recognizer.from_checkpoint(default_checkpoint_path(), "cpu")
    live.model.dgm.mirror = False  # banks render one view of the DGM, as the trunks were trained on them
    picks = [0, 150, 300, 441]
    recs = live.recognize([semi_synthetic_pair(ds.apexes[i], ds.flows[i]) for i in picks])
    for i, rec in zip(picks, recs):
        assert np.array_equal(rec.flow_image, bank.flows[i])


def test_clip_bank_needs_the_composite(tmp_path):
    from frl_core.training.au_augment import attach
    from frl_core.training.config import ConfigError

    dgm = tmp_path / "dgm.pt"
    dgm.write_bytes(b"not read: the protocol is refused first")
    config = {"protocol": {"name": "casme2-5class-loso"}, "model": {"input_mode": "flow"},
              "train": {"au_augment": 1.0, "au_augment_dgm": str(dgm), "au_augment_clips": True}}
    with pytest.raises(ConfigError, match="composite"):
        attach(_sample_set(4, 32), config)


def test_a_trunk_trained_with_the_synthetic_banks_says_so_in_its_data(tmp_path, monkeypatch):
    """A checkpoint's ``data`` names every bank its trunk learnt from, not only the real flow images."""
    from frl_core.training import au_augment
    from frl_core.training.au_augment import AugmentBank

    def bank(*_args, **_kwargs):
        return AugmentBank(np.zeros((2, 28, 28, 3), np.uint8), np.array([0, 1]), ["s0", "s1"], ["smile", "brow"])

    monkeypatch.setattr(au_augment, "load_or_build", bank)
    monkeypatch.setattr(au_augment, "build_clip_bank", bank)
    dgm = tmp_path / "dgm.pt"
    dgm.write_bytes(b"read by the banks, which are replaced here")
    samples = _sample_set(4, 32)
    samples.data_label = "real (published MEGC2019 flow images)"
    config = {"protocol": {"name": "megc2019-loso", "data_root": str(tmp_path)}, "model": {"input_mode": "flow"},
              "train": {"au_augment": 1.0, "au_augment_dgm": str(dgm), "au_augment_clips": True}}
    au_augment.attach(samples, config)
    assert samples.data_label.startswith("real (published MEGC2019 flow images) + ")
    assert "canonical action units" in samples.data_label and "pseudo-onset" in samples.data_label
    assert len(samples.augment) == 4


def test_the_live_recipes_train_on_a_fresh_clone_behind_the_dgm_the_trunks_learnt_from():
    """The live recipes' configs name a DGM that a clone has (not one under runs/), at the face size their
    trunks saw their banks rendered at: 112 px where it was trained, or 224 px where the app runs it."""
    from frl_core.models.checkpoint import load_checkpoint
    from frl_core.paths import REPO_ROOT
    from frl_core.training.au_augment import _dgm_of
    from frl_core.training.config import load_config

    for name in ("megc2019_live.toml", "megc2019_live_clips.toml", "megc2019_live_varied.toml",
                 "megc2019_live_parted_lips.toml"):
        train = load_config(REPO_ROOT / "configs" / name)["train"]
        path = REPO_ROOT / train["au_augment_dgm"]
        assert path.is_file(), f"{name}: {path} is not in the repository"
        _, size = _dgm_of(path, train["au_augment_dgm_size"])
        _, metadata = load_checkpoint(path)
        assert size == metadata["dgm_face_size"]["trained_at"] == 112
    train = load_config(REPO_ROOT / "configs" / "megc2019_live_bank224.toml")["train"]
    path = REPO_ROOT / train["au_augment_dgm"]
    _, metadata = load_checkpoint(path)
    assert _dgm_of(path, train["au_augment_dgm_size"])[1] == metadata["dgm_face_size"]["runs_at"] == 224


def test_the_au_bank_cache_tells_face_sizes_and_movements_apart(tmp_path, monkeypatch):
    from frl_core.training import au_augment
    from frl_core.training.au_augment import AugmentBank

    built = []

    def build(_path, _root, _names, _per_face, size=None, movements="textbook", parted_lips=0.0, emphasis=(),
              video_coded=0.0):
        built.append(size if movements == "textbook" and not parted_lips else (size, movements, parted_lips, video_coded))
        return AugmentBank(np.full((1, 28, 28, 3), len(built), np.uint8), np.array([0]), ["s0"], ["smile"])

    monkeypatch.setattr(au_augment, "build_au_bank", build)
    monkeypatch.setattr(au_augment, "BANK_CACHE_DIR", tmp_path)
    monkeypatch.setattr("frl_core.models.checkpoint.read_payload", lambda _path: {"sha256": "0123456789abcdef"})
    dgm = tmp_path / "dgm.pt"
    names = ("negative", "positive", "surprise")
    first = au_augment.load_or_build(dgm, tmp_path, names, 2)
    at_112 = au_augment.load_or_build(dgm, tmp_path, names, 2, size=112)
    again = au_augment.load_or_build(dgm, tmp_path, names, 2, size=112)
    assert built == [None, 112]  # the third call read the cache
    assert first.flows[0, 0, 0, 0] == 1 and at_112.flows[0, 0, 0, 0] == again.flows[0, 0, 0, 0] == 2
    varied = au_augment.load_or_build(dgm, tmp_path, names, 2, size=112, movements="varied")
    assert built[-1] == (112, "varied", 0.0, 0.0) and varied.flows[0, 0, 0, 0] == 3
    lips = au_augment.load_or_build(dgm, tmp_path, names, 2, size=112, movements="varied", parted_lips=0.3)
    assert built[-1] == (112, "varied", 0.3, 0.0) and lips.flows[0, 0, 0, 0] == 4
    dimpler = au_augment.load_or_build(dgm, tmp_path, names, 2, size=112, movements="varied", parted_lips=0.3,
                                       emphasis=("dimpler",))
    assert dimpler.flows[0, 0, 0, 0] == 5 and len(built) == 5
    video = au_augment.load_or_build(dgm, tmp_path, names, 2, size=112, movements="varied", parted_lips=0.3,
                                     emphasis=("dimpler",), video_coded=0.5)
    assert built[-1] == (112, "varied", 0.3, 0.5) and video.flows[0, 0, 0, 0] == 6


def test_a_varied_bank_teaches_more_movements_in_more_shapes_and_never_the_held_out_ones(data_root):
    """``train.au_augment_movements = "varied"``: the textbook movements and ``VARIED_EXPRESSIONS``, each
    labelled with its class; ``HELD_OUT_EXPRESSIONS`` stay out (the labelled benchmark tests on them)."""
    from frl_core.faces.action_units import (CLASS_EXPRESSIONS, EXPRESSIONS, HELD_OUT_EXPRESSIONS,
                                             VARIED_EXPRESSIONS)
    from frl_core.models.inference import default_checkpoint_path
    from frl_core.training.au_augment import build_au_bank

    names = ("negative", "positive", "surprise")
    textbook = build_au_bank(default_checkpoint_path(), data_root, names, 1, size=112)
    varied = build_au_bank(default_checkpoint_path(), data_root, names, 1, size=112, movements="varied")
    assert len(varied) == len(textbook) and varied.subjects == textbook.subjects
    taught = {n for sets in (CLASS_EXPRESSIONS, VARIED_EXPRESSIONS) for ns in sets.values() for n in ns}
    held = {n for ns in HELD_OUT_EXPRESSIONS.values() for n in ns}
    assert set(textbook.expressions) <= {n for ns in CLASS_EXPRESSIONS.values() for n in ns}
    assert set(varied.expressions) <= taught and not set(varied.expressions) & held
    assert {"duchenne_smile", "anger"} <= set(varied.expressions)
    for expression, label in zip(varied.expressions, varied.labels):
        assert EXPRESSIONS[expression][1] == names[label]
    assert not np.array_equal(varied.flows, textbook.flows)
    with pytest.raises(ValueError, match="unknown movements"):
        build_au_bank(default_checkpoint_path(), data_root, names, 1, movements="random")


def test_parted_lips_join_movements_of_every_class_and_the_dimpler_can_be_drawn_twice_as_often(data_root):
    """``train.au_augment_parted_lips``: a share of the movements, whatever their class, also part the lips
    (AU25), so that the lower lip's drop stops meaning "negative"; never with a movement that pushes the lips
    together (AU17, AU24); every other item is the varied bank's own. ``train.au_augment_emphasis``: the
    dimpler, the negative movement closest to a smile, drawn twice as often as the other negative ones."""
    from frl_core.models.inference import default_checkpoint_path
    from frl_core.training.au_augment import build_au_bank

    names = ("negative", "positive", "surprise")
    dgm = default_checkpoint_path()
    varied = build_au_bank(dgm, data_root, names, 1, size=112, movements="varied")
    lips = build_au_bank(dgm, data_root, names, 1, size=112, movements="varied", parted_lips=0.3)
    assert varied.subjects == lips.subjects and np.array_equal(varied.labels, lips.labels)
    parted = [i for i, name in enumerate(lips.expressions) if name.endswith("+AU25")]
    assert 0.2 < len(parted) / len(lips) < 0.35
    assert {names[lips.labels[i]] for i in parted} == set(names)
    assert not any(lips.expressions[i].startswith("chin_raise") for i in parted)
    unchanged = [i for i, (a, b) in enumerate(zip(varied.expressions, lips.expressions)) if a == b]
    assert all(b in (a, f"{a}+AU25") for a, b in zip(varied.expressions, lips.expressions))
    assert len(unchanged) + len(parted) == len(lips)
    changed = np.abs(varied.flows.astype(int) - lips.flows.astype(int)).mean(axis=(1, 2, 3))
    assert changed[unchanged].max() < 0.5 and changed[parted].min() > 2.0

    emphasised = build_au_bank(dgm, data_root, names, 1, size=112, movements="varied", parted_lips=0.3,
                               emphasis=("dimpler",))

    def dimpler_share(bank):
        negative = [e.removesuffix("+AU25") for e, label in zip(bank.expressions, bank.labels) if names[label] == "negative"]
        return negative.count("dimpler") / len(negative)

    assert dimpler_share(lips) < 0.2 < dimpler_share(emphasised)  # 1 in 7 negative movements, then 2 in 8
    for bad in ({"parted_lips": 1.5}, {"emphasis": ("open_smile",)}, {"emphasis": ("grin",)}):
        with pytest.raises(ValueError, match="share of the movements|cannot emphasise"):
            build_au_bank(dgm, data_root, names, 1, movements="varied", **bad)


def test_a_video_coded_pair_keeps_the_movement_and_loses_the_head_drift(tmp_path):
    """``dgm_train.video_coded_pair``: the movement comes out of mp4v at its size, the head's drift over the
    clip is undone, and the frames carry the codec's error (they are not the clean warp)."""
    import cv2

    from frl_core.training.dgm_train import DGMTrainConfig, _warp, video_coded_pair

    face = _textured_faces(1, 224, seed=3)[0]
    cfg = DGMTrainConfig(img_size=224, noise_range=(1.0, 1.0), brightness=0.0)
    field = np.zeros((2, 224, 224), np.float32)
    field[0] = 1.5  # the whole face 1.5 px to the right at the apex
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    for seed in range(3):
        onset, apex = video_coded_pair(face, field, np.random.default_rng(seed), cfg, tmp_path)
        flow = dis.calc(onset, apex, None)[40:-40, 40:-40]
        assert abs(float(np.median(flow[..., 0])) - 1.5) < 0.2 and abs(float(np.median(flow[..., 1]))) < 0.2
        still, still_apex = video_coded_pair(face, field * 0, np.random.default_rng(seed), cfg, tmp_path)
        assert np.abs(np.median(dis.calc(still, still_apex, None)[40:-40, 40:-40], axis=(0, 1))).max() < 0.15
        clean = _warp(face, field, -1.0)
        assert 0.5 < np.abs(apex.astype(int) - clean.astype(int))[40:-40, 40:-40].mean() < 8.0


def test_a_bank_can_code_a_share_of_its_pairs_as_video_and_keeps_the_others(data_root):
    """``train.au_augment_video_coded``: that share of the bank's pairs is coded as mp4v video; every other
    item, its label and its movement are the bank's without it."""
    from frl_core.models.inference import default_checkpoint_path
    from frl_core.training.au_augment import build_au_bank

    names = ("negative", "positive", "surprise")
    dgm = default_checkpoint_path()
    plain = build_au_bank(dgm, data_root, names, 1, size=112, movements="varied")
    coded = build_au_bank(dgm, data_root, names, 1, size=112, movements="varied", video_coded=0.5)
    assert plain.expressions == coded.expressions and np.array_equal(plain.labels, coded.labels)
    same = np.all(plain.flows == coded.flows, axis=(1, 2, 3))
    assert 0.35 < 1.0 - same.mean() < 0.65
    with pytest.raises(ValueError, match="share of the pairs"):
        build_au_bank(dgm, data_root, names, 1, video_coded=2.0)


def _with_clip_twins(samples: SampleSet, twin_labels: np.ndarray) -> None:
    from frl_core.training.au_augment import AugmentBank

    rng = np.random.default_rng(4)
    n = len(samples)
    flows = np.concatenate([rng.integers(0, 256, (2, 28, 28, 3), dtype=np.uint8),
                            rng.integers(0, 256, (n, 28, 28, 3), dtype=np.uint8)])
    samples.augment = AugmentBank(flows, np.concatenate([[0, 1], twin_labels]), ["s0", "s1"] + samples.subjects,
                                  ["smile", "brow"] + [f"clip:{k}" for k in samples.keys])


def test_live_consistency_makes_each_clips_dgm_twin_read_as_its_flow_image_reads():
    from frl_core.training.loop import predict, train_model

    samples = _sample_set(12, 32)
    # twins labelled otherwise than their clips: only the consistency term can make the two readings agree
    _with_clip_twins(samples, (samples.labels + 1) % 3)
    twins = samples.clip_twins()
    assert twins.tolist() == [len(samples) + 2 + i for i in range(len(samples))]
    train = np.arange(len(samples))
    agreement = {}
    for weight in (0.0, 10.0):
        config = {"model": {"input_mode": "flow"}, "train": {"epochs": 40, "batch_size": 8, "lr": 3e-3,
                                                             "weight_decay": 0.0, "au_augment": 1.0,
                                                             "live_consistency": weight}}
        model = create_model("frl_dgt_small", input_mode="flow", motion_size=28)
        train_model(model, samples, train, config, torch.device("cpu"), seed=1)
        on_real = predict(model, samples, train, config, torch.device("cpu")).argmax(1)
        on_twin = predict(model, samples, twins[train], config, torch.device("cpu")).argmax(1)
        agreement[weight] = float((on_real == on_twin).mean())
    assert agreement[10.0] >= agreement[0.0] + 0.25, agreement


def test_live_consistency_without_the_clip_bank_is_a_config_error():
    from frl_core.training.au_augment import AugmentBank
    from frl_core.training.config import ConfigError
    from frl_core.training.loop import train_model

    samples = _sample_set(6, 32)
    samples.augment = AugmentBank(np.zeros((2, 28, 28, 3), np.uint8), np.array([0, 1]), ["s0", "s1"], ["smile", "brow"])
    config = {"model": {"input_mode": "flow"}, "train": {"epochs": 1, "batch_size": 4, "lr": 1e-3, "weight_decay": 0.0,
                                                         "au_augment": 1.0, "live_consistency": 1.0}}
    with pytest.raises(ConfigError, match="au_augment_clips"):
        train_model(create_model("frl_dgt_small", input_mode="flow", motion_size=28), samples, np.arange(6), config,
                    torch.device("cpu"), seed=1)
