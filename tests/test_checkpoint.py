"""FRL-DGT checkpoints: a faithful round trip, and clear refusals of bad, tampered or mismatched files."""

import pytest
import torch

from frl_core.models import create_model
from frl_core.models.checkpoint import (CheckpointError, behaviour_digest, load_checkpoint, save_checkpoint,
                                       state_digest)


@pytest.mark.parametrize("mode", ["pair", "flow"])
def test_round_trip_keeps_weights_config_and_metadata(tmp_path, mode):
    torch.manual_seed(0)
    names = ("happiness", "disgust", "repression", "surprise", "others")
    model = create_model("frl_dgt_small", input_mode=mode, num_classes=5, class_names=names, img_size=64,
                         fusion="concat_after_attn").eval()
    path = save_checkpoint(model, tmp_path / "m.pt", metadata={"protocol": "casme2-5class-loso",
                                                               "train": {"epochs": 3, "seeds": [1, 2]}})
    loaded, meta = load_checkpoint(path)
    assert type(loaded) is type(model) and not loaded.training
    assert loaded.config == model.config
    assert loaded.class_names == names and loaded.input_mode == mode
    assert meta["protocol"] == "casme2-5class-loso" and meta["train"] == {"epochs": 3, "seeds": [1, 2]}
    assert meta["variant"] == "frl_dgt_small" and meta["input_mode"] == mode
    assert meta["class_names"] == list(names)
    assert meta["preprocessing"]["size"] == ([64, 64] if mode == "pair" else [28, 28])
    args = (torch.rand(2, 1, 64, 64), torch.rand(2, 1, 64, 64)) if mode == "pair" else (torch.rand(2, 3, 28, 28),)
    with torch.no_grad():
        assert torch.equal(loaded(*args), model(*args))


def _payload(tmp_path):
    model = create_model("frl_dgt_small", img_size=64)
    path = save_checkpoint(model, tmp_path / "m.pt", metadata={})
    return path, torch.load(path, weights_only=True)


def test_tampered_weights_are_refused(tmp_path):
    path, payload = _payload(tmp_path)
    payload["state_dict"]["head.bias"] = payload["state_dict"]["head.bias"] + 1.0
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="modified or damaged"):
        load_checkpoint(path)


def test_corrupted_bytes_are_refused(tmp_path):
    path, _ = _payload(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_weights_that_do_not_fit_their_config_are_refused(tmp_path):
    path, payload = _payload(tmp_path)
    payload["config"]["embed_dim"] = 96  # a consistent-looking file whose weights are for another width
    payload["config"]["num_heads"] = 4
    payload["sha256"] = behaviour_digest(payload)  # crafted with a matching digest
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(path)


def test_foreign_and_missing_files_get_clear_messages(tmp_path):
    plain = tmp_path / "state_dict.pth"
    torch.save(create_model("frl_dgt_small").state_dict(), plain)
    with pytest.raises(CheckpointError, match="not an FRL-DGT checkpoint"):
        load_checkpoint(plain)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(text)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "absent.pt")


def test_a_pickled_object_is_not_executed(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("code ran",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "frl_dgt_checkpoint", "x": Payload()}, path)
    with pytest.raises(CheckpointError, match="refused: it contains Python objects") as err:
        load_checkpoint(path)
    assert "weights_only" not in str(err.value)


def test_digest_depends_on_every_weight():
    state = create_model("frl_dgt_small").state_dict()
    before = state_digest(state)
    state["trunk.fusion.norm.weight"][0] += 1e-6
    assert state_digest(state) != before


def test_an_edited_config_class_name_or_calibration_is_refused(tmp_path):
    for edit in (lambda p: p["config"].update(class_names=["joy", "positive", "surprise"]),
                 lambda p: p.update(class_names=["joy", "positive", "surprise"]),
                 lambda p: p["metadata"].update(inference={"temperature": 0.05})):
        path, payload = _payload(tmp_path)
        edit(payload)
        torch.save(payload, path)
        with pytest.raises(CheckpointError, match="modified or damaged"):
            load_checkpoint(path)


@pytest.mark.parametrize("key, value, message", [
    ("embed_dim", 1 << 20, "embed_dim must be within"),
    ("class_names", ["../../evil", "positive", "surprise"], "class name"),
    ("class_names", ["=HYPERLINK(1)", "positive", "surprise"], "class name"),
])
def test_a_crafted_config_with_a_matching_digest_is_still_refused(tmp_path, key, value, message):
    path, payload = _payload(tmp_path)
    payload["config"][key] = value
    if key == "class_names":
        payload["class_names"] = value
    payload["sha256"] = behaviour_digest(payload)
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_nan_weights_with_a_matching_digest_are_refused_by_the_recogniser(tmp_path):
    from frl_core.models.inference import Recognizer

    model = create_model("frl_dgt_small", img_size=64)
    with torch.no_grad():
        model.head.bias.fill_(float("nan"))
    path = save_checkpoint(model, tmp_path / "nan.pt", metadata={})
    with pytest.raises(CheckpointError, match="non-finite"):
        Recognizer.from_checkpoint(path, "cpu")


def test_a_version_1_file_still_loads(tmp_path):
    import frl_core.models.checkpoint as ck

    model = create_model("frl_dgt_small", img_size=64)
    payload = {"format": ck.FORMAT, "format_version": 1, "variant": "frl_dgt_small",
               "config": model.config.to_dict(), "class_names": list(model.config.class_names),
               "input_mode": model.config.input_mode, "metadata": {}, "state_dict": model.state_dict()}
    payload["sha256"] = state_digest(payload["state_dict"])  # version 1: the digest covers the weights only
    torch.save(payload, tmp_path / "v1.pt")
    loaded, _ = load_checkpoint(tmp_path / "v1.pt")
    assert loaded.config == model.config
