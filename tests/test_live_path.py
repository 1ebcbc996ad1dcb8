"""The live path: DGM -> rendered flow image -> a flow-trained trunk, calibrated, with an uncertain outcome."""

import cv2
import numpy as np
import pytest
import torch

from frl_core.models import create_model
from frl_core.models.frl_dgt import mirror_flow_image, render_flow_image
from frl_core.models.inference import UNCERTAIN, InferenceSettings, Recognizer
from frl_core.training.live_path import assemble, realigned, realigned_pair


def models(seed: int = 0):
    torch.manual_seed(seed)
    trunk = create_model("frl_dgt_small", input_mode="flow", motion_size=28, flow_zero="median").eval()
    dgm = create_model("frl_dgt_small", input_mode="pair", img_size=112, motion_encoding="flow_image",
                       dgm_features_to_trunk=False, motion_size=28, flow_zero="median", dgm_init_std=0.05).eval()
    return dgm, trunk


def textured_face(size=224, seed=3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 3)
    return np.clip(128 + 60 * noise / noise.std(), 0, 255).astype(np.uint8)


def test_the_assembled_model_reads_the_rendered_displacement_as_the_trunk_reads_a_flow_image():
    dgm, trunk = models()
    live = assemble(dgm, trunk)
    onset = torch.rand(2, 1, 112, 112)
    apex = torch.rand(2, 1, 112, 112)
    with torch.no_grad():
        out = live.forward_features(onset, apex)
        direct = live.forward_head(out["features"])
        displacement, _ = dgm.dgm(onset, apex)
        via_trunk = trunk(render_flow_image(displacement))
    assert torch.allclose(direct, via_trunk, atol=1e-5)
    assert torch.allclose(out["flow_image"], render_flow_image(displacement))


def test_probabilities_are_tempered_and_mirror_averaged_and_a_low_top_gives_uncertain():
    dgm, trunk = models(1)
    live = assemble(dgm, trunk)
    face = textured_face()
    settings = InferenceSettings(temperature=2.0, uncertain_below=0.0, tta_hflip=True, register=False)
    rec = Recognizer(live, "cpu", settings=settings).recognize([(face, np.roll(face, 1, axis=1))])[0]
    onset = torch.from_numpy(cv2.resize(face, (112, 112), interpolation=cv2.INTER_AREA).astype(np.float32) / 255)[None, None]
    apex = torch.from_numpy(cv2.resize(np.roll(face, 1, axis=1), (112, 112), interpolation=cv2.INTER_AREA)
                            .astype(np.float32) / 255)[None, None]
    with torch.no_grad():
        out = live.forward_features(onset, apex)
        a = torch.softmax(live.forward_head(out["features"]) / 2.0, 1)
        b = torch.softmax(live.forward_flow_image(mirror_flow_image(out["flow_image"])) / 2.0, 1)
    expected = ((a + b) / 2)[0].numpy()
    assert np.allclose([rec.probabilities[c] for c in live.class_names], expected, atol=1e-5)
    sure = Recognizer(live, "cpu", settings=InferenceSettings(uncertain_below=0.99, register=False))
    unsure = sure.recognize([(face, np.roll(face, 1, axis=1))])[0]
    assert unsure.label == UNCERTAIN and unsure.top_class in live.class_names
    assert abs(sum(unsure.probabilities.values()) - 1.0) < 1e-5


def test_displacement_comes_back_in_pixels_of_the_faces_given_and_head_motion_is_reported():
    dgm, trunk = models(2)
    live = assemble(dgm, trunk)
    face = textured_face()
    m = np.float32([[1, 0, 1.5], [0, 1, -1.0]])
    shifted = cv2.warpAffine(face, m, (224, 224), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT101)
    rec = Recognizer(live, "cpu").recognize([(face, shifted)])[0]
    assert rec.displacement.shape == (2, 224, 224)
    assert rec.head_motion["dx_px"] == pytest.approx(-1.5, abs=0.1)
    assert rec.head_motion["dy_px"] == pytest.approx(1.0, abs=0.1)
    inner = (slice(20, 204), slice(20, 204))
    assert np.abs(rec.registered_apex[inner].astype(float) - face[inner]).mean() < 3.0
    assert rec.flow_image.shape == (28, 28, 3) and rec.flow_image.dtype == np.uint8


def test_inference_settings_from_a_checkpoint_are_checked():
    assert InferenceSettings.from_metadata({}).temperature == 1.0
    got = InferenceSettings.from_metadata({"inference": {"temperature": 1.5, "uncertain_below": 0.5,
                                                         "tta_hflip": True}})
    assert (got.temperature, got.uncertain_below, got.tta_hflip, got.register) == (1.5, 0.5, True, True)
    from frl_core.models.checkpoint import CheckpointError

    for bad in ({"temperature": float("nan")}, {"temperature": 0}, {"uncertain_below": 2}, {"temperature": "x"}):
        with pytest.raises(CheckpointError):
            InferenceSettings.from_metadata({"inference": bad})


def test_landmark_noise_realignment_moves_the_face_by_about_a_pixel():
    face = textured_face()
    moved = realigned(face, np.random.default_rng(0), 1.0)
    from frl_core.motion.registration import estimate_global_motion

    motion = estimate_global_motion(face, moved)
    assert 0.05 < np.hypot(*motion.translation) < 2.0


def test_the_bench_aligns_a_noisy_pair_as_the_product_does():
    """bench live-path's noise model: each frame's landmarks off by up to 1 px, the pair aligned together
    (``faces.pair``): a still face stays still, and the pair sits within a pixel of where it was."""
    from frl_core.motion.registration import estimate_global_motion

    face = textured_face()
    onset, apex = realigned_pair(face, face, np.random.default_rng(3), 1.0)
    assert np.array_equal(onset, apex)
    assert np.hypot(*estimate_global_motion(face, onset).translation) < 1.5


def test_the_bench_reads_uncalibrated_runs_as_plain_averages_and_refuses_a_half_calibrated_ensemble():
    from frl_core.models.checkpoint import CheckpointError
    from frl_core.training.live_path import _bench_settings

    plain = _bench_settings([{}, {}], None)
    assert plain.uncertain_below == 0.0 and plain.member_temperatures == (1.0, 1.0)
    with pytest.raises(CheckpointError):
        _bench_settings([{"calibration": {"temperature": 1.2}}, {}], None)


def test_an_ensemble_of_trunks_averages_each_members_calibrated_probabilities():
    dgm, first = models(4)
    _, second = models(5)
    face = textured_face()
    pair = [(face, np.roll(face, 2, axis=1))]
    single = [Recognizer(assemble(dgm, t), "cpu", settings=InferenceSettings(temperature=temp, tta_hflip=True,
                                                                             register=False)).recognize(pair)[0]
              for t, temp in ((first, 1.5), (second, 0.8))]
    both = assemble(dgm, [first, second])
    assert both.config.ensemble_size == 2
    rec = Recognizer(both, "cpu", settings=InferenceSettings(tta_hflip=True, register=False,
                                                             member_temperatures=(1.5, 0.8))).recognize(pair)[0]
    expected = [(single[0].probabilities[c] + single[1].probabilities[c]) / 2 for c in both.class_names]
    assert np.allclose([rec.probabilities[c] for c in both.class_names], expected, atol=1e-5)
    assert not np.allclose(expected, [single[0].probabilities[c] for c in both.class_names], atol=1e-3)
    assert np.allclose(rec.displacement, single[0].displacement)


def test_an_ensemble_live_file_round_trips_and_a_wrong_member_count_is_refused(tmp_path):
    from frl_core.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

    dgm, first = models(6)
    _, second = models(7)
    live = assemble(dgm, [first, second])
    settings = InferenceSettings(temperature=1.2, uncertain_below=0.4, tta_hflip=True, member_temperatures=(1.2, 0.9))
    path = save_checkpoint(live, tmp_path / "live.pt", metadata={"inference": settings.as_dict()})
    rec = Recognizer.from_checkpoint(path, "cpu")
    assert rec.settings.member_temperatures == (1.2, 0.9) and rec.model.config.ensemble_size == 2
    loaded, _ = load_checkpoint(path)
    for a, b in zip(live.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(CheckpointError, match="2 trunks but 3 member temperatures"):
        Recognizer(live, "cpu", settings=InferenceSettings(member_temperatures=(1.0, 1.0, 1.0)))


def test_an_ensembles_uncertain_threshold_is_fitted_on_its_members_averaged_inner_predictions():
    from frl_core.models.checkpoint import CheckpointError
    from frl_core.training.calibration import choose_uncertain_threshold, calibrated_probabilities
    from frl_core.training.live_path import ensemble_settings

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    metas = []
    for t in (1.0, 2.0):
        logits = rng.normal(0, 1, (300, 3))
        logits[np.arange(300), labels] += rng.uniform(0, 3, 300)
        order = rng.permutation(300)
        metas.append({"inference": {"temperature": t, "tta_hflip": False},
                      "calibration": {"temperature": t, "inner_indices": order.tolist(),
                                      "inner_logits": logits[order].tolist(), "inner_labels": labels[order].tolist()}})
    got = ensemble_settings(metas)
    cals = [m["calibration"] for m in metas]
    averaged = np.mean([calibrated_probabilities(np.asarray(c["inner_logits"]), None, c["temperature"])
                        [np.argsort(c["inner_indices"])] for c in cals], axis=0)
    assert got.member_temperatures == (1.0, 2.0)
    assert got.uncertain_below == pytest.approx(choose_uncertain_threshold(averaged, labels))
    assert 0 < got.uncertain_below < 1
    with pytest.raises(CheckpointError, match="no held-out inner predictions"):
        ensemble_settings([metas[0], {"inference": {}, "calibration": {"temperature": 1.0}}])


def test_trunks_of_different_shapes_do_not_make_an_ensemble():
    from frl_core.models.checkpoint import CheckpointError

    dgm, first = models(8)
    other = create_model("frl_dgt_small", input_mode="flow", motion_size=32, flow_zero="median").eval()
    with pytest.raises(CheckpointError, match="share one architecture"):
        assemble(dgm, [first, other])


def test_assemble_live_joins_a_dgm_and_several_trunks_into_one_file_the_recogniser_loads(tmp_path, capsys):
    import argparse

    from frl_core.models.checkpoint import save_checkpoint
    from frl_core.training import live_path

    dgm, first = models(9)
    _, second = models(10)
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 120)
    paths = []
    for k, (trunk, t) in enumerate(((first, 1.3), (second, 0.7))):
        logits = rng.normal(0, 1, (120, 3))
        logits[np.arange(120), labels] += 2.0
        meta = {"seed": k + 1, "data": "real (published MEGC2019 flow images)",
                "train": {"uncertain_max_accuracy": 0.5, "au_augment": 1.0, "au_augment_clips": True},
                "inference": {"temperature": t, "uncertain_below": 0.5, "tta_hflip": True},
                "calibration": {"temperature": t, "inner_indices": list(range(120)), "inner_logits": logits.tolist(),
                                "inner_labels": labels.tolist()}}
        paths.append(str(save_checkpoint(trunk, tmp_path / f"trunk{k}.pt", metadata=meta)))
    dgm_path = save_checkpoint(dgm, tmp_path / "dgm.pt", metadata={})
    out = tmp_path / "live.pt"
    parser = argparse.ArgumentParser()
    live_path.add_arguments(parser)
    args = parser.parse_args(["--dgm", str(dgm_path), "--trunk", *paths, "--save", str(out), "--dgm-size", "224"])
    assert live_path.run(args) == 0
    assert "2 trunk(s), temperature 1.300 / 0.700" in capsys.readouterr().out
    from frl_core.models.checkpoint import load_checkpoint

    assert load_checkpoint(out)[1]["dgm_face_size"] == {"trained_at": 112, "runs_at": 224}
    trunk_data = load_checkpoint(out)[1]["trained_on"]["trunk"]
    assert "real (published MEGC2019 flow images)" in trunk_data  # what the file says it learnt from: all of it
    assert "canonical action units" in trunk_data and "pseudo-onset" in trunk_data
    rec = Recognizer.from_checkpoint(out, "cpu")
    assert rec.model.config.ensemble_size == 2 and rec.settings.member_temperatures == (1.3, 0.7)
    assert rec.input_size == 224
    face = textured_face()
    result = rec.recognize([(face, np.roll(face, 1, axis=0))])[0]
    assert abs(sum(result.probabilities.values()) - 1.0) < 1e-5
    # A clone has no train-dgm run: the live file itself is the DGM's source, and its DGM still reads as trained
    # at 112 px although the file runs it at 224.
    again = tmp_path / "again.pt"
    args = parser.parse_args(["--dgm", str(out), "--trunk", *paths, "--save", str(again), "--dgm-size", "224"])
    assert live_path.run(args) == 0
    assert load_checkpoint(again)[1]["dgm_face_size"] == {"trained_at": 112, "runs_at": 224}
    mixed = tmp_path / "mixed.pt"
    args = parser.parse_args(["--dgm", str(out), "--trunk", *paths, "--save", str(mixed), "--dgm-size", "224",
                              "--dgm-label-size", "112"])
    assert live_path.run(args) == 0
    assert load_checkpoint(mixed)[1]["dgm_face_size"] == {"trained_at": 112, "runs_at": 224, "labels_at": 112}
    assert Recognizer.from_checkpoint(mixed, "cpu").label_size == 112


def test_an_ensemble_is_only_a_live_path_file():
    from frl_core.models.frl_dgt import FRLDGTConfig, ModelConfigError

    with pytest.raises(ModelConfigError, match="live-path file"):
        FRLDGTConfig(input_mode="flow", ensemble_size=2)
    with pytest.raises(ModelConfigError, match="live-path file"):
        FRLDGTConfig(input_mode="pair", motion_encoding="direct", ensemble_size=2)


def test_bench_live_path_measures_agreement_without_noise_draws(tmp_path, capsys, data_root):
    """`bench live-path --noise-draws 0` (agreement and UF1 only, three times faster) reports them and says the
    flips were not measured, instead of failing after the LOSO part's minutes."""
    import argparse
    import json

    from frl_core.data.megc2019 import Megc2019
    from frl_core.models.checkpoint import save_checkpoint
    from frl_core.models.inference import default_checkpoint_path
    from frl_core.training import live_path

    ds = Megc2019(data_root)
    indices = [i for i, c in enumerate(ds.clips) if f"{c.dataset}/{c.subject}" == "samm/006"]
    dgm, trunk = models(11)
    run = tmp_path / "seed_1"
    (run / "folds").mkdir(parents=True)
    save_checkpoint(trunk, run / "checkpoints" / "006.pt", metadata={"inference": {"tta_hflip": True}})
    probs = np.full((len(indices), 3), 1 / 3)
    probs[:, 0] += 0.1
    (run / "folds" / "006.json").write_text(json.dumps({
        "subject": "006", "indices": indices, "keys": [ds.clips[i].key for i in indices],
        "y_true": [int(ds.labels[i]) for i in indices], "probabilities": probs.tolist()}))
    dgm_path = save_checkpoint(dgm, tmp_path / "dgm.pt", metadata={})
    composite_only = tmp_path / "data"  # no real sequence: the bench's sequence part is skipped
    composite_only.mkdir()
    (composite_only / "megc2019").symlink_to(data_root / "megc2019", target_is_directory=True)
    parser = argparse.ArgumentParser()
    live_path.add_bench_arguments(parser)
    args = parser.parse_args(["--flow-run", str(run), "--dgm", str(dgm_path), "--noise-draws", "0",
                              "--checkpoint", str(default_checkpoint_path()), "--data-root", str(composite_only),
                              "--json", str(tmp_path / "bench.json")])
    assert live_path.run_bench(args) == 0
    out = capsys.readouterr().out
    assert f"1 LOSO folds, {len(indices)} clips" in out and "label flips not measured" in out
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["loso"]["label_flips_landmark_noise"] is None and 0.0 <= report["loso"]["agreement"] <= 1.0
    # the classical reference reproduces the pairs' known motion in the trunk's terms; an untrained DGM does not
    image_r = report["loso"]["image_correlation"]
    assert min(image_r["dis"].values()) > 0.6 and image_r["dgm"]["u"] < image_r["dis"]["u"], image_r
    assert "flow image against the one rendered from the pair's true displacement" in out
    # one subject: resampling by subject cannot move either figure, and the report says so
    boot = report["loso"]["subject_bootstrap"]
    assert boot["agreement_interval"] == [report["loso"]["agreement"]] * 2
    assert "resamples by subject" in out


def test_the_live_path_can_run_its_dgm_on_faces_larger_than_it_was_trained_on():
    """`assemble-live --dgm-size 224`: the same DGM weights measure the pair at 224 px (finer texture, the
    same motion twice as many of its pixels); the rendered flow image and the displacement's units follow."""
    from frl_core.models.checkpoint import CheckpointError

    dgm, trunk = models(12)
    small, large = assemble(dgm, trunk), assemble(dgm, trunk, dgm_size=224)
    assert small.config.img_size == 112 and large.config.img_size == 224
    assert all(torch.equal(a, b) for a, b in zip(small.dgm.state_dict().values(), large.dgm.state_dict().values()))
    face = textured_face()
    shifted = np.ascontiguousarray(np.roll(face, 2, axis=1))
    settings = InferenceSettings(tta_hflip=True, register=False)
    at_112, at_224 = (Recognizer(m, "cpu", settings=settings).recognize([(face, shifted)])[0] for m in (small, large))
    assert at_224.displacement.shape == at_112.displacement.shape == (2, 224, 224)
    assert not np.allclose(at_224.flow_image, at_112.flow_image)
    with pytest.raises(CheckpointError, match="multiple of 28"):
        assemble(dgm, trunk, dgm_size=100)


def test_the_trunks_can_read_the_motion_at_their_banks_size_while_the_map_stays_at_the_face_size(tmp_path):
    """`assemble-live --dgm-size 224 --dgm-label-size 112`: the label and probabilities are those of the DGM run at
    112 px (where the trunks' banks were rendered), the displacement a user sees and exports is the 224-px one; the
    file keeps the choice."""
    from frl_core.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

    dgm, trunk = models(14)
    small, large = assemble(dgm, trunk), assemble(dgm, trunk, dgm_size=224)
    both = assemble(dgm, trunk, dgm_size=224, label_size=112)
    assert both.config.dgm_label_size == 112 and assemble(dgm, trunk, dgm_size=224, label_size=224).config.dgm_label_size == 0
    face = textured_face()
    pairs = [(face, np.ascontiguousarray(np.roll(face, k, axis=1))) for k in (1, 3)]
    settings = InferenceSettings(tta_hflip=True, register=False)
    at_112, at_224, mixed = (Recognizer(m, "cpu", settings=settings).recognize(pairs) for m in (small, large, both))
    for a, b, m in zip(at_112, at_224, mixed):
        assert m.probabilities == a.probabilities and np.array_equal(m.flow_image, a.flow_image)
        assert np.array_equal(m.displacement, b.displacement)
        assert not np.array_equal(a.displacement, b.displacement)
    saved = save_checkpoint(both, tmp_path / "live.pt")
    assert load_checkpoint(saved)[0].config.dgm_label_size == 112
    with pytest.raises(CheckpointError, match="multiple of 28"):
        assemble(dgm, trunk, dgm_size=224, label_size=100)
    with pytest.raises(CheckpointError, match="multiple of 28 from 56 to img_size"):
        assemble(dgm, trunk, dgm_size=112, label_size=224)


def test_the_live_path_keeps_the_passes_its_dgm_was_trained_with():
    """A DGM trained with two passes (`train-dgm --iterations 2`) refines its estimate on the apex warped back
    by the first; assembled behind a trunk it must keep both, not fall back to the trunk's single pass."""
    torch.manual_seed(13)
    dgm = create_model("frl_dgt_small", input_mode="pair", img_size=112, motion_encoding="flow_image",
                       dgm_features_to_trunk=False, motion_size=28, flow_zero="median", dgm_init_std=0.05,
                       dgm_iterations=2).eval()
    _, trunk = models(13)
    live = assemble(dgm, trunk)
    assert live.config.dgm_iterations == 2 and live.dgm.iterations == 2
    onset, apex = torch.rand(1, 1, 112, 112), torch.rand(1, 1, 112, 112)
    with torch.no_grad():
        assert torch.allclose(live.dgm(onset, apex)[0], dgm.dgm(onset, apex)[0])


def test_mirror_averaging_makes_the_dgm_see_a_mirrored_face_as_mirrored_motion(tmp_path):
    """`--dgm-mirror`: a mirrored pair must give the mirrored displacement (dx negated); one view of an
    untrained DGM does not, the averaged estimate does. Training keeps one view, a saved file keeps the choice."""
    from frl_core.models.checkpoint import load_checkpoint, save_checkpoint
    from frl_core.models.frl_dgt import ModelConfigError

    dgm, trunk = models(14)
    plain, mirrored = assemble(dgm, trunk), assemble(dgm, trunk, dgm_mirror=True)
    assert not plain.dgm.mirror and mirrored.dgm.mirror and mirrored.config.dgm_mirror
    onset, apex = torch.rand(1, 1, 112, 112), torch.rand(1, 1, 112, 112)

    def mirror(d):
        d = torch.flip(d, (-1,))
        return torch.cat((-d[:, :1], d[:, 1:]), 1)

    with torch.no_grad():
        for model, equivariant in ((plain, False), (mirrored, True)):
            d = model.dgm(onset, apex)[0]
            d_of_mirrored = model.dgm(torch.flip(onset, (-1,)), torch.flip(apex, (-1,)))[0]
            assert torch.allclose(d_of_mirrored, mirror(d), atol=1e-6) == equivariant
        mirrored.dgm.train()
        assert torch.equal(mirrored.dgm(onset, apex)[0], plain.dgm(onset, apex)[0])
        mirrored.dgm.eval()
    path = save_checkpoint(mirrored, tmp_path / "live.pt")
    assert load_checkpoint(path)[0].dgm.mirror
    with pytest.raises(ModelConfigError, match="dgm_mirror"):
        create_model("frl_dgt_small", input_mode="pair", dgm_mirror="yes")


def test_agreement_by_confidence_says_where_the_live_path_and_flow_mode_part():
    from frl_core.training.live_path import agreement_by_confidence

    rows = [{"live_conf": c, "flow_pred": f, "live_pred": p} for c, f, p in [
        (0.9, 0, 0), (0.8, 1, 1), (0.75, 2, 2), (0.65, 0, 0), (0.62, 1, 0), (0.55, 0, 1), (0.45, 2, 0), (0.4, 1, 1)]]
    out = agreement_by_confidence(rows)
    assert out["0.7"] == {"share": 3 / 8, "agreement": 1.0}
    assert out["0.6"] == {"share": 5 / 8, "agreement": 4 / 5}
    assert out["negative_positive_share_of_disagreements"] == 2 / 3
