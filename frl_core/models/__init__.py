"""FRL-DGT models: ``create_model(name, **config_overrides)`` over a small registry of named variants."""

from __future__ import annotations

from typing import Any

from frl_core.models.frl_dgt import FRLDGT, FRLDGTConfig, ModelConfigError

_VARIANTS: dict[str, dict[str, Any]] = {
    # the default: small enough for the CPU latency target of pair mode (README, bench model)
    "frl_dgt_small": dict(dgm_channels=(16, 32, 48), embed_dim=48, num_heads=3, depth_local=1,
                          depth_global=1, depth_full=1, depth_fusion=1),
    # wider DGM and trunk, two blocks per fusion stage
    "frl_dgt_base": dict(dgm_channels=(24, 48, 96), embed_dim=96, num_heads=4, depth_local=2,
                         depth_global=2, depth_full=2, depth_fusion=1, motion_size=56, region_grid=4,
                         full_face_grid=7),
}


def list_models() -> list[str]:
    return sorted(_VARIANTS)


def variant_config(name: str, **config_overrides: Any) -> FRLDGTConfig:
    """The named variant's config with the given fields replaced."""
    if name not in _VARIANTS:
        raise ModelConfigError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    params = {**_VARIANTS[name], **config_overrides}
    return FRLDGTConfig.from_dict(params)


def create_model(name: str, **config_overrides: Any) -> FRLDGT:
    """A freshly initialised FRL-DGT variant, e.g. ``create_model("frl_dgt_small", input_mode="flow")``."""
    model = FRLDGT(variant_config(name, **config_overrides))
    model.variant = name
    return model


__all__ = ["FRLDGT", "FRLDGTConfig", "ModelConfigError", "create_model", "list_models", "variant_config"]
