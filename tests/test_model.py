"""FRL-DGT network: shapes, gradients, the DGM's warping and learning, the fusion switch, determinism."""

import pytest
import torch

from frl_core.faces.au_regions import AU_REGIONS
from frl_core.models import ModelConfigError, create_model, list_models
from frl_core.models.frl_dgt import FRLDGT, FRLDGTConfig
from frl_core.models.layers import warp
from frl_core.models.losses import displacement_losses, resize_flow

SIZE = 64  # small faces keep the tests fast; the architecture does not depend on the size


def pair_batch(b=2, size=SIZE, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 1, size, size, generator=g), torch.rand(b, 1, size, size, generator=g)


def test_registry_lists_variants_and_rejects_unknown_names():
    assert {"frl_dgt_small", "frl_dgt_base"} <= set(list_models())
    with pytest.raises(ModelConfigError, match="unknown model"):
        create_model("frl_dgt_huge")


@pytest.mark.parametrize("num_classes", [3, 5])
@pytest.mark.parametrize("mode", ["pair", "flow"])
def test_output_shapes_and_dtypes(mode, num_classes):
    names = tuple(f"class{i}" for i in range(num_classes))
    model = create_model("frl_dgt_small", input_mode=mode, num_classes=num_classes, class_names=names,
                         img_size=SIZE).eval()
    if mode == "pair":
        onset, apex = pair_batch(3)
        args = (onset, apex)
    else:
        args = (torch.rand(3, 3, 28, 28),)
    with torch.no_grad():
        logits = model(*args)
        out = model.forward_features(*args)
    assert logits.shape == (3, num_classes) and logits.dtype == torch.float32
    assert out["features"].shape == (3, model.num_features) and out["features"].dtype == torch.float32
    if mode == "pair":
        assert out["displacement"].shape == (3, 2, SIZE, SIZE)
        assert out["displacement"].dtype == torch.float32
    else:
        assert out["displacement"] is None
    torch.testing.assert_close(model.forward_head(out["features"]), logits)
    assert model.class_names == names


def test_pair_mode_accepts_other_face_sizes_and_refuses_wrong_calls():
    model = create_model("frl_dgt_small", img_size=SIZE).eval()
    onset, apex = pair_batch(1, size=80)
    with torch.no_grad():
        assert model.forward_features(onset, apex)["displacement"].shape == (1, 2, 80, 80)
    with pytest.raises(ValueError, match="pair mode"):
        model(onset)
    flow_model = create_model("frl_dgt_small", input_mode="flow")
    with pytest.raises(ValueError, match="flow mode"):
        flow_model(onset, apex)


def test_config_rejects_inconsistent_values():
    with pytest.raises(ModelConfigError, match="class_names"):
        FRLDGTConfig(num_classes=5)
    with pytest.raises(ModelConfigError, match="fusion"):
        FRLDGTConfig(fusion="late")
    with pytest.raises(ModelConfigError, match="input_mode"):
        FRLDGTConfig(input_mode="video")
    with pytest.raises(ModelConfigError, match="unknown"):
        FRLDGTConfig.from_dict({"layers": 3})


def test_training_losses_have_a_total_and_their_parts():
    torch.manual_seed(0)
    model = create_model("frl_dgt_small", img_size=SIZE, ssim_weight=0.1)
    onset, apex = pair_batch(2)
    batch = {"onset": onset, "apex": apex, "label": torch.tensor([0, 2]),
             "teacher_flow": torch.zeros(2, 2, 16, 16)}
    losses = model.training_losses(batch)
    assert {"total", "classification", "photometric", "ssim", "smoothness", "teacher"} <= set(losses)
    cfg = model.config
    expected = (cfg.classification_weight * losses["classification"] + cfg.photometric_weight * losses["photometric"]
                + cfg.ssim_weight * losses["ssim"] + cfg.smoothness_weight * losses["smoothness"]
                + cfg.teacher_weight * losses["teacher"])
    torch.testing.assert_close(losses["total"], expected)
    flow_model = create_model("frl_dgt_small", input_mode="flow")
    flow_losses = flow_model.training_losses({"flow": torch.rand(2, 3, 28, 28), "label": torch.tensor([1, 0])})
    assert set(flow_losses) == {"total", "classification"}
    flow_losses["total"].backward()


def test_classification_loss_alone_trains_the_dgm():
    torch.manual_seed(0)
    model = create_model("frl_dgt_small", img_size=SIZE, photometric_weight=0.0, smoothness_weight=0.0)
    onset, apex = pair_batch(4)
    losses = model.training_losses({"onset": onset, "apex": apex, "label": torch.tensor([0, 1, 2, 1])})
    assert set(losses) == {"total", "classification"}
    losses["total"].backward()
    first_conv = model.dgm.encoder[0][0][0].weight
    assert model.dgm.predict.weight.grad.abs().sum() > 0
    assert first_conv.grad is not None and first_conv.grad.abs().sum() > 0


def test_zero_displacement_reproduces_the_onset_exactly():
    onset, apex = pair_batch(2, size=97)
    assert torch.equal(warp(onset, torch.zeros(2, 2, 97, 97)), onset)
    cfg = FRLDGTConfig(img_size=97)
    parts = displacement_losses(onset, onset, torch.zeros(2, 2, 97, 97), cfg)
    assert parts["photometric"][1].item() == pytest.approx(cfg.charbonnier_eps, rel=1e-4)
    assert parts["smoothness"][1].item() == 0.0


def test_warp_moves_content_by_the_displacement():
    """d is the onset->apex motion: a dot at x=10 in the onset lands at x=12 with d=(+2, 0)."""
    onset = torch.zeros(1, 1, 20, 30)
    onset[0, 0, 5, 10] = 1.0
    d = torch.zeros(1, 2, 20, 30)
    d[:, 0] = 2.0
    warped = warp(onset, d)
    assert warped[0, 0, 5, 12].item() == pytest.approx(1.0)
    assert warped.sum().item() == pytest.approx(1.0)


def test_resize_flow_rescales_pixel_units():
    flow = torch.ones(1, 2, 28, 28)
    flow[:, 1] = -2.0
    big = resize_flow(flow, (112, 56))
    assert big.shape == (1, 2, 112, 56)
    assert torch.allclose(big[:, 0], torch.full((1, 112, 56), 2.0))
    assert torch.allclose(big[:, 1], torch.full((1, 112, 56), -8.0))


def synthetic_face(size: int, shift=(0.0, 0.0), seed: int = 3) -> torch.Tensor:
    """Smooth blobs evaluated analytically, so the shifted copy has no interpolation error."""
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                            indexing="ij")
    x, y = xs - shift[0], ys - shift[1]
    img = torch.full_like(x, 0.3)
    n = 40
    cx = torch.rand(n, generator=g, dtype=torch.float64) * size
    cy = torch.rand(n, generator=g, dtype=torch.float64) * size
    r = (torch.rand(n, generator=g, dtype=torch.float64) * 0.06 + 0.03) * size
    a = torch.rand(n, generator=g, dtype=torch.float64) - 0.5
    for i in range(n):
        img = img + a[i] * torch.exp(-((x - cx[i]) ** 2 + (y - cy[i]) ** 2) / (2 * r[i] ** 2))
    return img.clamp(0, 1).float()[None, None]


@pytest.mark.slow
def test_dgm_learns_a_known_subpixel_shift():
    torch.manual_seed(0)
    size, shift = 64, (1.3, -0.7)
    onset, apex = synthetic_face(size), synthetic_face(size, shift)
    model = create_model("frl_dgt_small", img_size=size)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    face_area = ((xs - size / 2) / (0.38 * size)) ** 2 + ((ys - size / 2) / (0.45 * size)) ** 2 <= 1
    target = torch.tensor(shift).view(2, 1, 1)

    def error() -> torch.Tensor:
        with torch.no_grad():
            d, _ = model.dgm(onset, apex)
        return (d[0] - target).norm(dim=0)[face_area]

    assert error().mean() > 1.0  # the untrained DGM sees no motion
    opt = torch.optim.Adam(model.dgm.parameters(), lr=2e-3)
    for _ in range(300):
        d, _ = model.dgm(onset, apex)
        loss = sum(w * v for w, v in displacement_losses(onset, apex, d, model.config).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    err = error()
    assert err.mean() < 0.3 and err.max() < 0.3, (err.mean().item(), err.max().item())


def test_fusion_switch_changes_the_module_graph():
    fub = create_model("frl_dgt_small", fusion="fu_b_attn")
    cat = create_model("frl_dgt_small", fusion="concat_after_attn")
    fub_names = {n for n, _ in fub.named_modules()}
    cat_names = {n for n, _ in cat.named_modules()}
    assert "trunk.fusion.blocks" in fub_names and "trunk.fusion.stream_blocks" not in fub_names
    assert "trunk.fusion.stream_blocks" in cat_names and "trunk.fusion.blocks" not in cat_names

    def attention_passes(m: FRLDGT) -> int:
        return sum(1 for n, mod in m.trunk.fusion.named_modules() if type(mod).__name__ == "Attention")

    assert attention_passes(fub) == fub.config.depth_fusion
    assert attention_passes(cat) == 3 * cat.config.depth_fusion
    assert sum(p.numel() for p in cat.parameters()) > sum(p.numel() for p in fub.parameters())


def test_region_tokens_come_from_the_shared_au_regions():
    model = create_model("frl_dgt_small")
    k = model.config.region_grid
    assert model.trunk.region_grid.shape == (len(AU_REGIONS) * k, k, 2)
    assert model.config.region_names == tuple(r.name for r in AU_REGIONS)


def test_same_seed_same_output_and_another_seed_differs():
    onset, apex = pair_batch(2)

    def run(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        model = create_model("frl_dgt_small", img_size=SIZE).eval()
        with torch.no_grad():
            return model(onset, apex)

    assert torch.equal(run(7), run(7))
    assert not torch.equal(run(7), run(8))


def test_motion_jitter_acts_in_training_only():
    torch.manual_seed(0)
    model = create_model("frl_dgt_small", input_mode="flow", motion_jitter=0.1, head_drop=0.0)
    flow = torch.rand(2, 3, 28, 28)
    with torch.no_grad():
        model.train()
        assert not torch.equal(model.forward_features(flow)["features"], model.forward_features(flow)["features"])
        model.eval()
        assert torch.equal(model(flow), model(flow))


def test_motion_transformer_starts_as_the_identity_and_learns_a_shift():
    """With ``motion_stn`` the untrained model gives the logits of the same weights without it; trained
    to match a map shifted by a few cells, its transform moves away from the identity."""
    torch.manual_seed(0)
    cfg = dict(input_mode="flow", motion_size=28)
    with_stn = FRLDGT(FRLDGTConfig(motion_stn=True, **cfg)).eval()
    plain = FRLDGT(FRLDGTConfig(**cfg)).eval()
    plain.load_state_dict({k: v for k, v in with_stn.state_dict().items() if not k.startswith("motion_stn")})
    x = torch.rand(3, 3, 28, 28)
    assert torch.allclose(with_stn(x), plain(x), atol=1e-5)
    stn = with_stn.motion_stn
    target = torch.roll(x, shifts=3, dims=3)
    optimiser = torch.optim.Adam(stn.parameters(), lr=0.05)
    before = torch.nn.functional.mse_loss(stn(x), target).item()
    for _ in range(60):
        optimiser.zero_grad()
        loss = torch.nn.functional.mse_loss(stn(x), target)
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.8 * before
