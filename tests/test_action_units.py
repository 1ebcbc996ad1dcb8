"""AU supervision: the coding tables' AU strings, the composite's AU targets, and FRL-DGT's auxiliary AU head."""

from collections import Counter

import numpy as np
import pytest
import torch

from frl_core.data.action_units import (COMPOSITE_AU_VOCABULARY, au_targets, composite_action_units,
                                        parse_action_units)
from frl_core.models.frl_dgt import FRLDGT, FRLDGTConfig, masked_au_loss
from frl_core.training.config import load_config
from frl_core.training.samples import attach_action_units, load_samples, make_batch

K = len(COMPOSITE_AU_VOCABULARY)


@pytest.mark.parametrize("text, aus", [
    ("4+L10", {4, 10}), ("R12+25", {12, 25}), ("AU1+AU2", {1, 2}), ("4D+9B", {4, 9}), ("A1B+A2C", {1, 2}),
    ("10A/B", {10}), ("A/L12", {12}), ("T18+39", {18, 39}), ("ref(7B)+43C", {43}), ("(R6 or R12)+R15", {15}),
    ("R14+17+soft focus", {14, 17}), ("12+15 ", {12, 15}),
])
def test_au_strings_keep_the_au_number_without_side_intensity_or_references(text, aus):
    assert parse_action_units(text) == frozenset(aus)


@pytest.mark.parametrize("text", ["?", "", None, "R12 or R14", "ref(5)"])
def test_a_cell_naming_no_au_is_unknown_not_empty(text):
    assert parse_action_units(text) is None


def test_targets_are_multi_hot_over_the_vocabulary_and_unknown_clips_are_masked():
    coded = {"casme2/sub01/a": frozenset({4, 7, 99}), "samm/006/b": frozenset({12})}
    targets, known = au_targets(["casme2/sub01/a", "smic/s01/c", "samm/006/b"], coded)
    assert known.tolist() == [True, False, True]
    assert targets.shape == (3, K)
    assert [COMPOSITE_AU_VOCABULARY[j] for j in np.flatnonzero(targets[0])] == [4, 7]
    assert not targets[1].any()
    assert [COMPOSITE_AU_VOCABULARY[j] for j in np.flatnonzero(targets[2])] == [12]


def test_composite_clips_get_their_coded_aus_from_the_real_tables(data_root):
    coded = composite_action_units(data_root / "annotations")
    assert coded["casme2/sub01/EP02_01f"] == {12}
    assert coded["samm/006/006_1_2"] == {4, 7}
    from frl_core.data.megc2019 import Megc2019

    keys = [c.key for c in Megc2019(data_root).clips]
    known = [k for k in keys if k in coded]
    assert len(known) == 275 and not any(k.startswith("smic/") for k in known)
    counts = Counter(au for k in known for au in coded[k])
    assert COMPOSITE_AU_VOCABULARY == tuple(sorted(au for au, n in counts.items() if n >= 10))


def test_samples_carry_au_targets_only_when_the_au_head_is_trained(data_root):
    samples = load_samples({"name": "megc2019-loso", "data_root": str(data_root)}, "flow", 28)
    config = load_config(None)
    config["protocol"]["data_root"] = str(data_root)
    attach_action_units(samples, config)
    assert samples.action_units is None
    assert "action_units" not in make_batch(samples, np.arange(4), "flow", 28, False, None)
    config["model"]["au_loss_weight"] = 0.5
    attach_action_units(samples, config)
    assert int(samples.au_known.sum()) == 275
    smic = [i for i, d in enumerate(samples.datasets) if d == "smic"][:2]
    casme = samples.keys.index("casme2/sub01/EP02_01f")
    batch = make_batch(samples, np.array([*smic, casme]), "flow", 28, False, None)
    assert batch["au_known"].tolist() == [False, False, True]
    assert batch["action_units"][2, COMPOSITE_AU_VOCABULARY.index(12)] == 1


def _au_batch(b=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"flow": torch.rand(b, 3, 28, 28, generator=g), "label": torch.randint(0, 3, (b,), generator=g),
            "action_units": (torch.rand(b, K, generator=g) < 0.3).float(),
            "au_known": torch.tensor([True, False] * (b // 2))}


@pytest.mark.parametrize("fusion", ["fu_b_attn", "concat_after_attn"])
def test_the_au_head_is_absent_at_weight_zero_and_never_changes_the_class_logits(fusion):
    torch.manual_seed(0)
    off = FRLDGT(FRLDGTConfig(input_mode="flow", fusion=fusion, motion_size=28)).eval()
    torch.manual_seed(0)
    on = FRLDGT(FRLDGTConfig(input_mode="flow", fusion=fusion, motion_size=28, au_loss_weight=0.5)).eval()
    assert off.au_head is None and "au_head.weight" not in off.state_dict()
    extra = sum(p.numel() for p in on.parameters()) - sum(p.numel() for p in off.parameters())
    assert extra == (len(on.config.region_names) * on.config.embed_dim + 1) * K
    flow = torch.rand(4, 3, 28, 28)
    with torch.no_grad():
        assert torch.equal(off(flow), on(flow))
    assert "action_units" not in off.train().training_losses(_au_batch())


def test_masked_au_loss_ignores_unknown_clips_and_trains_the_region_tokens():
    torch.manual_seed(0)
    model = FRLDGT(FRLDGTConfig(input_mode="flow", motion_size=28, au_loss_weight=1.0, drop=0.0, head_drop=0.0))
    model.eval()
    batch = _au_batch()
    losses = model.training_losses(batch)
    assert torch.isclose(losses["total"], losses["classification"] + losses["action_units"])
    flipped = dict(batch, action_units=batch["action_units"].clone())
    flipped["action_units"][~batch["au_known"]] = 1 - flipped["action_units"][~batch["au_known"]]
    assert torch.equal(model.training_losses(flipped)["action_units"], losses["action_units"])
    flipped["action_units"][batch["au_known"]] = 1 - flipped["action_units"][batch["au_known"]]
    assert not torch.equal(model.training_losses(flipped)["action_units"], losses["action_units"])
    model.zero_grad()
    losses["action_units"].backward()
    assert model.trunk.fusion.linear_fusion.weight.grad.abs().sum() > 0
    assert model.head.weight.grad is None
    none_known = dict(batch, au_known=torch.zeros(6, dtype=torch.bool))
    assert model.training_losses(none_known)["action_units"].item() == 0.0
    with pytest.raises(KeyError, match="action_units"):
        masked_au_loss(torch.zeros(2, K), {"label": torch.zeros(2, dtype=torch.long)})
