"""The composite-style flow image: one recipe in numpy and in the network, blind to scale and offset."""

import cv2
import numpy as np
import pytest
import torch

from frl_core.data.pairs import random_smooth_displacement
from frl_core.motion.flow_image import channel_correlations, composite_flow_image, flow_image
from frl_core.models.frl_dgt import mirror_flow_image, render_flow_image


@pytest.mark.parametrize("size", [112, 224])
def test_the_network_renders_what_numpy_renders(size):
    d = random_smooth_displacement(np.random.default_rng(size), size, 1.5)
    a = flow_image(d).astype(np.float64)
    b = render_flow_image(torch.from_numpy(d)[None])[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(a - b).max() <= 0.5 + 1e-6


def test_scale_and_a_constant_shift_do_not_change_the_image():
    d = random_smooth_displacement(np.random.default_rng(1), 112, 1.0)
    shifted = 3.0 * d + np.array([0.7, -0.2], np.float32)[:, None, None]
    assert np.array_equal(flow_image(d), flow_image(shifted))


def test_a_mirrored_face_gives_the_mirrored_image():
    d = random_smooth_displacement(np.random.default_rng(2), 112, 1.0)
    mirrored = np.ascontiguousarray(np.stack([-d[0, :, ::-1], d[1, :, ::-1]]))
    direct = render_flow_image(torch.from_numpy(mirrored)[None])
    by_rule = mirror_flow_image(render_flow_image(torch.from_numpy(d)[None]))
    assert torch.allclose(direct, by_rule, atol=1e-5)


def test_the_recipe_reproduces_the_composites_flow_image(data_root):
    """CASME II sub01/EP02_01f: its sequence's first frame and the composite's own apex face, by the recipe,
    against the composite's published flow image."""
    seq = data_root / "sequences" / "casme2_sub_clip_resampled"
    onset = cv2.imread(str(seq / "001.jpg"), cv2.IMREAD_GRAYSCALE)
    apex = cv2.imread(str(data_root / "megc2019" / "apex" / "casme2_sub01_EP02_01f.jpg"), cv2.IMREAD_GRAYSCALE)
    reference = cv2.imread(str(data_root / "megc2019" / "flow" / "casme2_sub01_EP02_01f.png"))
    corr = channel_correlations(composite_flow_image(onset, apex), reference)
    assert corr["u"] > 0.85 and corr["v"] > 0.85
    assert corr["strain"] > 0.55


def test_the_triad_estimate_recovers_each_measurements_agreement_with_the_motion():
    from frl_core.training.dgm_train import triad_agreement

    rng = np.random.default_rng(0)
    motion = rng.normal(0, 1, 200_000)
    dgm, tvl1, dis = (motion + rng.normal(0, s, motion.size) for s in (0.7, 0.5, 0.6))
    r = lambda a, b: float(np.corrcoef(a, b)[0, 1])  # noqa: E731
    got = triad_agreement(r(dgm, tvl1), r(dis, tvl1), r(dgm, dis))
    for key, x in (("dgm_vs_motion", dgm), ("tvl1_vs_motion", tvl1), ("dis_vs_motion", dis)):
        assert got[key] == pytest.approx(r(x, motion), abs=0.01)
    assert r(dgm, tvl1) < got["dgm_vs_motion"]
