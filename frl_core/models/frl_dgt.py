"""FRL-DGT: a displacement generation module (DGM) followed by Transformer fusion over AU regions.

What the paper (Zhai et al., "Feature Representation Learning with Adaptive Displacement Generation
and Transformer Fusion for Micro-Expression Recognition", CVPR 2023) fixes, and this module follows:
a convolutional DGM turns the onset and apex frames into a displacement map, trained with
self-supervised losses and by the recognition loss end to end; three Transformer fusion stages
follow -- local fusion inside AU-based facial regions, global fusion across the regions, and
full-face fusion -- and their outputs are merged by linear fusion *before* attention (Fu-B-Attn);
the head outputs the emotion class.

Everything the paper leaves open is chosen here, written down, and exposed as an ``FRLDGTConfig``
field so it can be changed and measured:

* Displacement convention (``displacement``): ``(B, 2, H, W)`` = (dx, dy) in pixels of the input,
  the onset->apex motion on the apex grid (the convention of Farneback/TV-L1 flow from onset to
  apex), so the apex is reconstructed as ``onset(x - d(x))``.
* DGM (``dgm_channels``, ``dgm_output_stride``): an encoder of stride-2 conv stages on
  (onset, apex, apex - onset) -- one conv in the first stage (the costliest resolution), two in the
  others, LeakyReLU, no normalisation --, a U-Net decoder (one 3x3 conv per level on the upsampled
  features concatenated with the encoder's skip) back to 1/``dgm_output_stride`` of the input, a 3x3
  conv predicting (dx, dy) there, bilinearly upsampled to the full input size. Predicting at 1/4
  resolution keeps the DGM within a CPU latency budget; face motion is smooth at that scale.
  The last conv starts near zero (``dgm_init_std``) so an untrained DGM starts from "no motion".
  With ``dgm_iterations`` = n > 1 the same DGM runs n times: the apex is warped back by the estimate so
  far and the DGM adds what is left (coarse-to-fine without a pyramid; sub-pixel residuals are where a
  single pass is least accurate).
* Shared fusion trunk: both input modes produce a 3-channel motion map of side ``motion_size``.
  Pair mode, ``motion_encoding = "flow_image"`` (the live path): the displacement is rendered exactly
  as the MEGC2019 composite's flow images were made (``frl_core.motion.flow_image``: u, v averaged to 28 x 28,
  optical strain, each channel min-max normalised) and read as flow mode reads a flow image, so a trunk
  trained on the composite's real flows classifies it. ``motion_encoding = "direct"``: (dx, dy, |d|)
  pooled to that size and expressed in ``motion_gain`` x (fraction of the
  face width), so the trunk sees the same units whatever ``img_size`` is. Flow mode: the MEGC2019
  28x28 u/v/strain image (OpenCV BGR order, /255) centred to [-1, 1] and bilinearly upsampled;
  it bypasses the DGM. In pair mode the DGM's bottleneck features are also added to the trunk's
  stem output through a 1x1 projection (``dgm_features_to_trunk``): the "feature maps the fusion
  consumes" besides the displacement.
* Stem (``embed_dim``): two stride-2 3x3 conv+BN+GELU layers, motion_size/4 feature grid.
* AU-region tokens (``region_grid``): the regions of ``frl_core.faces.au_regions`` (one data structure
  shared with the views), boxes from ``canonical_region_boxes`` in units of the crop, each sampled
  on a ``region_grid`` x ``region_grid`` lattice of the feature map with ``grid_sample`` (bilinear).
* Local fusion (``depth_local``): a Transformer over each region's patch tokens (the regions are
  batched, weights shared, plus a learned per-region and per-position embedding); the region's
  token is the mean of its outputs.
* Global fusion (``depth_global``): a Transformer over the R region tokens.
* Full-face fusion (``depth_full``, ``full_face_grid``): a Transformer over the whole face's patch
  tokens (the feature map average-pooled to ``full_face_grid`` squared tokens); its output map is
  then sampled in each region box and averaged, giving one full-face token per region.
* Fusion (``fusion``): ``"fu_b_attn"`` -- per region, the local, global and full-face tokens are
  concatenated and fused by one Linear layer, then ``depth_fusion`` attention blocks run over the
  R fused tokens plus a class token (one attention pass); ``"concat_after_attn"`` -- the ablation:
  each of the three token streams gets its own attention blocks and class token, and the three
  class tokens are concatenated and fused by a Linear layer after attention (three passes).
* Motion jitter (``motion_jitter``): in training mode only, the motion map is randomly shifted and
  scaled by up to that fraction of its side before the trunk -- face alignment is never exact, and
  with a few hundred clips the trunk otherwise memorises exact positions (0 turns it off).
* Transformer blocks: pre-norm, ``num_heads`` heads, MLP ratio ``mlp_ratio``, GELU,
  ``scaled_dot_product_attention``; dropout ``drop`` in blocks, ``head_drop`` before the classifier.
* Losses (weights are fields): photometric reconstruction of the apex by warping the onset with the
  displacement through ``grid_sample`` (Charbonnier, eps ``charbonnier_eps``; optional SSIM term
  ``ssim_weight``), first-order edge-aware smoothness weighted by exp(-``edge_alpha`` |grad apex|),
  an optional Charbonnier term against a teacher flow when the batch carries one
  (``teacher_weight``), and cross-entropy with ``label_smoothing`` (``classification_weight``).
* Auxiliary AU head (``au_loss_weight`` > 0, training only): a Linear from the R fused AU-region tokens
  (after Fu-B-Attn) to ``num_action_units`` logits, trained with binary cross-entropy against the clip's
  coded AUs, masked where they are unknown (SMIC, "?"): the coding tables' AUs are information the
  3-class labels lack, and they belong to the regions FRL-DGT already tokenises. At 0 (the default) the
  head is not built, so parameters, outputs and checkpoints are those of the model without it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn

from frl_core.faces.au_regions import AU_REGIONS, canonical_region_boxes
from frl_core.models.layers import warp
from frl_core.models.losses import displacement_losses

INPUT_MODES = ("pair", "flow")
FUSIONS = ("fu_b_attn", "concat_after_attn")
MOTION_ENCODINGS = ("direct", "flow_image")


class ModelConfigError(ValueError):
    """A model configuration value that cannot work, with a message for the user."""


_BOUNDS: dict[str, tuple[float, float]] = {
    "num_classes": (2, 32), "img_size": (32, 512), "embed_dim": (8, 1024), "num_heads": (1, 32),
    "mlp_ratio": (0.5, 8.0), "region_grid": (1, 16), "full_face_grid": (1, 32), "motion_size": (8, 224),
    "flow_input_size": (8, 224), "depth_local": (0, 12), "depth_global": (0, 12), "depth_full": (0, 12),
    "depth_fusion": (0, 12), "drop": (0.0, 0.9), "head_drop": (0.0, 0.9), "motion_gain": (0.0, 1e4),
    "au_loss_weight": (0.0, 100.0), "num_action_units": (1, 64), "ensemble_size": (1, 8),
}
"""Limits a config is checked against, so that a crafted checkpoint cannot force a huge allocation."""


def _safe_name(name: str) -> bool:
    """A class name fit for labels, CSV cells and file names: short, printable, no path, no formula."""
    return (0 < len(name) <= 40 and name.isprintable() and not any(c in name for c in '/\\:*?"<>|')
            and not name.startswith((".", "=", "+", "-", "@")) and name.strip() == name)


@dataclass
class FRLDGTConfig:
    """Every architectural and loss choice of FRL-DGT (see the module docstring for why)."""

    num_classes: int = 3
    class_names: tuple[str, ...] = ("negative", "positive", "surprise")
    input_mode: str = "pair"
    img_size: int = 224
    fusion: str = "fu_b_attn"
    # DGM
    dgm_channels: tuple[int, ...] = (16, 32, 48)
    dgm_output_stride: int = 4
    dgm_init_std: float = 1e-3
    dgm_iterations: int = 1
    dgm_mirror: bool = False
    """At inference, also run the DGM on the mirrored pair and average the two estimates (the second
    mirrored back, dx negated): the estimate of a mirrored face should be the mirrored estimate, and the part
    of the DGM's error that breaks this averages out. Training always runs one view."""
    dgm_label_size: int = 0
    """Live path: the face side the DGM runs at for the flow image the trunk reads, when it differs from
    ``img_size`` (0: the same). The displacement shown and exported stays the ``img_size`` estimate; the trunk
    reads the motion at the size its banks were rendered at (an encoded dimpler was read right far more often)."""
    dgm_features_to_trunk: bool = True
    motion_encoding: str = "direct"
    # shared fusion trunk
    motion_size: int = 32
    motion_gain: float = 50.0
    flow_input_size: int = 28
    flow_zero: str = "mid"
    embed_dim: int = 48
    num_heads: int = 3
    mlp_ratio: float = 2.0
    region_grid: int = 3
    full_face_grid: int = 8
    depth_local: int = 1
    depth_global: int = 1
    depth_full: int = 1
    depth_fusion: int = 1
    drop: float = 0.0
    head_drop: float = 0.1
    motion_jitter: float = 0.0
    motion_stn: bool = False
    """A small spatial transformer on the motion map (shift, roll, scale, learnt per input, starting at the
    identity): datasets frame their flow images differently (SAMM's are framed unlike its apex faces)."""
    conv_summary: bool = False
    ensemble_size: int = 1
    """Trunks and heads reading the same flow image (the first is ``trunk``/``head``, the others
    ``members``): an assembled live file may carry one per training seed of the recipe, whose calibrated
    probabilities the recogniser averages. Training builds one; only flow images are averaged."""
    # losses
    classification_weight: float = 1.0
    label_smoothing: float = 0.0
    photometric_weight: float = 1.0
    charbonnier_eps: float = 1e-3
    ssim_weight: float = 0.0
    smoothness_weight: float = 0.05
    edge_alpha: float = 10.0
    teacher_weight: float = 1.0
    au_loss_weight: float = 0.0
    num_action_units: int = 12  # len(frl_core.data.action_units.COMPOSITE_AU_VOCABULARY)
    region_names: tuple[str, ...] = field(default_factory=lambda: tuple(r.name for r in AU_REGIONS))

    def __post_init__(self) -> None:
        self.class_names = tuple(str(c) for c in self.class_names)
        self.dgm_channels = tuple(int(c) for c in self.dgm_channels)
        self.region_names = tuple(self.region_names)
        if self.input_mode not in INPUT_MODES:
            raise ModelConfigError(f"input_mode must be one of {INPUT_MODES}, got {self.input_mode!r}")
        if self.fusion not in FUSIONS:
            raise ModelConfigError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if self.num_classes < 2:
            raise ModelConfigError(f"num_classes must be at least 2, got {self.num_classes}")
        if len(self.class_names) != self.num_classes:
            raise ModelConfigError(
                f"class_names has {len(self.class_names)} names but num_classes is {self.num_classes}"
            )
        for name in self.class_names:
            if not _safe_name(name):
                raise ModelConfigError(f"class name {name[:40]!r} is not allowed: 1-40 printable characters, "
                                       "no path separators, not starting with a dot or a formula sign")
        for key, (low, high) in _BOUNDS.items():
            value = getattr(self, key)
            if not (isinstance(value, (int, float)) and low <= value <= high):
                raise ModelConfigError(f"{key} must be within {low}..{high}, got {value!r}")
        if not all(1 <= c <= 512 for c in self.dgm_channels) or len(self.dgm_channels) > 6:
            raise ModelConfigError(f"dgm_channels must be 2-6 stages of 1..512 channels, got {self.dgm_channels}")
        if self.embed_dim % self.num_heads:
            raise ModelConfigError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        if self.img_size < 32:
            raise ModelConfigError(f"img_size must be at least 32, got {self.img_size}")
        if len(self.dgm_channels) < 2 or self.dgm_output_stride not in (1, 2, 4, 8):
            raise ModelConfigError("dgm_channels needs at least 2 stages and dgm_output_stride one of 1, 2, 4, 8")
        if not isinstance(self.dgm_mirror, bool):
            raise ModelConfigError(f"dgm_mirror must be true or false, got {self.dgm_mirror!r}")
        if self.dgm_label_size and (self.dgm_label_size % 28 or not 56 <= self.dgm_label_size <= self.img_size
                                    or self.motion_encoding != "flow_image"):
            raise ModelConfigError("dgm_label_size is a flow-image live path's: a multiple of 28 from 56 to img_size "
                                   f"({self.img_size}), or 0; got {self.dgm_label_size}")
        if not 1 <= int(self.dgm_iterations) <= 4:
            raise ModelConfigError(f"dgm_iterations must be 1 to 4, got {self.dgm_iterations}")
        if 2 ** len(self.dgm_channels) < self.dgm_output_stride:
            raise ModelConfigError("dgm_output_stride is coarser than the DGM's deepest stage")
        if self.motion_encoding not in MOTION_ENCODINGS:
            raise ModelConfigError(f"motion_encoding must be one of {MOTION_ENCODINGS}, got {self.motion_encoding!r}")
        if self.motion_encoding == "flow_image" and self.dgm_features_to_trunk:
            raise ModelConfigError("motion_encoding 'flow_image' feeds the trunk the rendered flow image only: "
                                   "set dgm_features_to_trunk = false")
        if self.flow_zero not in ("mid", "median"):
            raise ModelConfigError(f"flow_zero must be 'mid' or 'median', got {self.flow_zero!r}")
        if int(self.ensemble_size) > 1 and (self.input_mode != "pair" or self.motion_encoding != "flow_image"):
            raise ModelConfigError("an ensemble of trunks is a live-path file (pair mode, motion_encoding = "
                                   "'flow_image', built by assemble-live); this model would use one trunk only")
        if self.motion_size % 4:
            raise ModelConfigError(f"motion_size must be a multiple of 4, got {self.motion_size}")
        if tuple(self.region_names) != tuple(r.name for r in AU_REGIONS):
            raise ModelConfigError(
                "this model's AU regions differ from frl_core.faces.au_regions: "
                f"{list(self.region_names)} vs {[r.name for r in AU_REGIONS]}"
            )

    def to_dict(self) -> dict:
        """Plain types only (lists for tuples), so it travels in a weights_only checkpoint."""
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict) -> "FRLDGTConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelConfigError(f"unknown FRL-DGT config field(s): {', '.join(unknown)}")
        return cls(**data)


# ---------------------------------------------------------------------------------------------- blocks


def conv_act(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv + LeakyReLU, no normalisation (flow estimators regress magnitudes that BN would blur)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.1, inplace=True))


def conv_bn_gelu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.GELU())


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int, drop: float = 0.0) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.drop = drop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2],
                                             dropout_p=self.drop if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm Transformer block."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, drop: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, drop)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(drop), nn.Linear(hidden, dim),
                                 nn.Dropout(drop))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def transformer(dim: int, depth: int, cfg: FRLDGTConfig) -> nn.Sequential:
    return nn.Sequential(*[Block(dim, cfg.num_heads, cfg.mlp_ratio, cfg.drop) for _ in range(depth)])


# ------------------------------------------------------------------------------------------------- DGM


class DisplacementGenerator(nn.Module):
    """DGM: onset + apex -> displacement (dx, dy in input pixels) and its bottleneck feature map."""

    def __init__(self, cfg: FRLDGTConfig) -> None:
        super().__init__()
        ch = cfg.dgm_channels
        self.out_stride = cfg.dgm_output_stride
        self.encoder = nn.ModuleList()
        cin = 3
        for i, c in enumerate(ch):
            # the first stage runs at half the input resolution, where a second conv costs the most
            layers = [conv_act(cin, c, stride=2)] + ([conv_act(c, c)] if i > 0 else [])
            self.encoder.append(nn.Sequential(*layers))
            cin = c
        # decoder: from the deepest stage up to the stage at the output stride
        n_up = len(ch) - int(math.log2(self.out_stride)) if self.out_stride > 1 else len(ch)
        self.decoder = nn.ModuleList()
        c_prev = ch[-1]
        for i in range(n_up):
            level = len(ch) - 2 - i  # skip connection from this encoder stage, -1 = the input itself
            c_skip = ch[level] if level >= 0 else 3
            c_out = ch[0]
            self.decoder.append(conv_act(c_prev + c_skip, c_out))
            c_prev = c_out
        self.predict = nn.Conv2d(c_prev, 2, 3, 1, 1)
        nn.init.normal_(self.predict.weight, std=cfg.dgm_init_std)
        nn.init.zeros_(self.predict.bias)
        self.feature_channels = ch[-1]
        self.iterations = int(cfg.dgm_iterations)
        self.mirror = bool(cfg.dgm_mirror)

    def forward(self, onset: torch.Tensor, apex: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d, bottleneck = self.estimate(onset, apex)
        if self.mirror and not self.training:
            mirrored, _ = self.estimate(torch.flip(onset, (-1,)), torch.flip(apex, (-1,)))
            mirrored = torch.flip(mirrored, (-1,))
            d = 0.5 * (d + torch.cat((-mirrored[:, :1], mirrored[:, 1:]), dim=1))
        return d, bottleneck

    def estimate(self, onset: torch.Tensor, apex: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One view: the DGM's passes on (onset, apex)."""
        d, bottleneck = self.single_pass(onset, apex)
        for _ in range(self.iterations - 1):
            # apex(x + d(x)) is the onset again where d is right: what the next pass sees is the rest
            residual, bottleneck = self.single_pass(onset, warp(apex, -d))
            d = d + residual
        return d, bottleneck

    def single_pass(self, onset: torch.Tensor, apex: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat(((onset - 0.5) * 4.0, (apex - 0.5) * 4.0, (apex - onset) * 8.0), dim=1)
        skips = [x]
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        bottleneck = x
        for i, stage in enumerate(self.decoder):
            skip = skips[-2 - i]
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = stage(torch.cat((x, skip), dim=1))
        d = self.predict(x)
        # predicted in input pixels at 1/out_stride resolution: upsampling keeps the values
        d = F.interpolate(d, size=onset.shape[-2:], mode="bilinear", align_corners=False)
        return d, bottleneck


# ------------------------------------------------------------------------------------- fusion trunk


def region_sampling_grid(region_grid: int) -> torch.Tensor:
    """``(R * k, k, 2)`` grid_sample coordinates (align_corners=False) of each AU region's k x k lattice."""
    size = 1000
    boxes = torch.as_tensor(canonical_region_boxes(size) / size, dtype=torch.float32)  # (R, 4) in [0, 1]
    k = region_grid
    steps = (torch.arange(k, dtype=torch.float32) + 0.5) / k  # cell centres inside the box
    grids = []
    for x0, y0, x1, y1 in boxes.tolist():
        xs = x0 + (x1 - x0) * steps
        ys = y0 + (y1 - y0) * steps
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        grids.append(torch.stack((gx, gy), dim=-1) * 2.0 - 1.0)
    return torch.cat(grids, dim=0)


class FuBAttn(nn.Module):
    """Merge the local, global and full-face region tokens into one feature vector.

    ``fu_b_attn``: linear fusion of the three streams per region, then one attention pass.
    ``concat_after_attn``: one attention pass per stream, class tokens concatenated, then linear fusion.
    """

    def __init__(self, cfg: FRLDGTConfig, num_regions: int) -> None:
        super().__init__()
        d = cfg.embed_dim
        self.mode = cfg.fusion
        if self.mode == "fu_b_attn":
            self.linear_fusion = nn.Linear(3 * d, d)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
            self.region_embed = nn.Parameter(torch.zeros(1, num_regions, d))
            self.blocks = transformer(d, cfg.depth_fusion, cfg)
            nn.init.trunc_normal_(self.region_embed, std=0.02)
            nn.init.trunc_normal_(self.cls_token, std=0.02)
        else:
            self.cls_tokens = nn.Parameter(torch.zeros(3, 1, d))
            self.region_embeds = nn.Parameter(torch.zeros(3, num_regions, d))
            self.stream_blocks = nn.ModuleList([transformer(d, cfg.depth_fusion, cfg) for _ in range(3)])
            self.linear_fusion = nn.Linear(3 * d, d)
            nn.init.trunc_normal_(self.region_embeds, std=0.02)
            nn.init.trunc_normal_(self.cls_tokens, std=0.02)
        self.norm = nn.LayerNorm(d)

    def forward(self, local: torch.Tensor, global_: torch.Tensor, full: torch.Tensor) -> torch.Tensor:
        return self.forward_tokens(local, global_, full)[0]

    def forward_tokens(self, local: torch.Tensor, global_: torch.Tensor,
                       full: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The fused vector (B, D) and the R AU-region tokens after attention (B, R, D), normalised
        (for the ablation, the mean of the three streams' region tokens)."""
        b = local.shape[0]
        if self.mode == "fu_b_attn":
            z = self.linear_fusion(torch.cat((local, global_, full), dim=-1)) + self.region_embed
            z = self.blocks(torch.cat((self.cls_token.expand(b, -1, -1), z), dim=1))
            return self.norm(z[:, 0]), self.norm(z[:, 1:])
        outs, regions = [], []
        for i, (stream, blocks) in enumerate(zip((local, global_, full), self.stream_blocks)):
            z = blocks(torch.cat((self.cls_tokens[i].expand(b, -1, -1), stream + self.region_embeds[i]), dim=1))
            outs.append(z[:, 0])
            regions.append(z[:, 1:])
        return self.norm(self.linear_fusion(torch.cat(outs, dim=-1))), self.norm(torch.stack(regions).mean(dim=0))


class FusionTrunk(nn.Module):
    """Motion map (B, 3, M, M) -> fused feature vector (B, D): local, global and full-face fusion."""

    def __init__(self, cfg: FRLDGTConfig) -> None:
        super().__init__()
        d = cfg.embed_dim
        self.num_regions = len(AU_REGIONS)
        self.k = cfg.region_grid
        self.full_grid = cfg.full_face_grid
        self.stem = nn.Sequential(conv_bn_gelu(3, d // 2, stride=2), conv_bn_gelu(d // 2, d, stride=2))
        self.register_buffer("region_grid", region_sampling_grid(cfg.region_grid), persistent=False)
        self.local_pos = nn.Parameter(torch.zeros(1, 1, self.k * self.k, d))
        self.local_region = nn.Parameter(torch.zeros(1, self.num_regions, 1, d))
        self.local_blocks = transformer(d, cfg.depth_local, cfg)
        self.local_norm = nn.LayerNorm(d)
        self.global_pos = nn.Parameter(torch.zeros(1, self.num_regions, d))
        self.global_blocks = transformer(d, cfg.depth_global, cfg)
        self.global_norm = nn.LayerNorm(d)
        self.full_pos = nn.Parameter(torch.zeros(1, self.full_grid * self.full_grid, d))
        self.full_blocks = transformer(d, cfg.depth_full, cfg)
        self.full_norm = nn.LayerNorm(d)
        self.fusion = FuBAttn(cfg, self.num_regions)
        self.summary = nn.Linear(d, d) if cfg.conv_summary else None
        for p in (self.local_pos, self.local_region, self.global_pos, self.full_pos):
            nn.init.trunc_normal_(p, std=0.02)

    def sample_regions(self, fmap: torch.Tensor) -> torch.Tensor:
        """(B, D, h, w) -> (B, R, k*k, D) bilinear samples on each region's lattice."""
        b, d = fmap.shape[:2]
        grid = self.region_grid.to(fmap.dtype).unsqueeze(0).expand(b, -1, -1, -1)
        s = F.grid_sample(fmap, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return s.reshape(b, d, self.num_regions, self.k * self.k).permute(0, 2, 3, 1)

    def forward(self, motion: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_tokens(motion, extra)[0]

    def forward_tokens(self, motion: torch.Tensor,
                       extra: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The fused feature vector (B, D) and the fused AU-region tokens (B, R, D)."""
        fmap = self.stem(motion)
        if extra is not None:
            fmap = fmap + extra
        b, d = fmap.shape[:2]
        # local fusion: patch tokens within each region
        local = self.sample_regions(fmap) + self.local_pos + self.local_region
        local = self.local_blocks(local.reshape(b * self.num_regions, self.k * self.k, d))
        local = self.local_norm(local.mean(dim=1)).reshape(b, self.num_regions, d)
        # global fusion: one token per region
        global_ = self.global_norm(self.global_blocks(local + self.global_pos))
        # full-face fusion: whole-face patch tokens, read back per region
        g = self.full_grid
        full = F.adaptive_avg_pool2d(fmap, g).flatten(2).transpose(1, 2) + self.full_pos
        full = self.full_norm(self.full_blocks(full))
        full = self.sample_regions(full.transpose(1, 2).reshape(b, d, g, g)).mean(dim=2)
        fused, regions = self.fusion.forward_tokens(local, global_, full)
        if self.summary is not None:
            fused = fused + self.summary(fmap.mean(dim=(2, 3)))
        return fused, regions


# ------------------------------------------------------------------------------------ flow image


def _minmax(x: torch.Tensor) -> torch.Tensor:
    """Each (B, C) plane mapped to [0, 1] on its own (a flat plane becomes 0)."""
    lo = x.flatten(2).min(dim=2).values[..., None, None]
    hi = x.flatten(2).max(dim=2).values[..., None, None]
    span = hi - lo
    return torch.where(span > 0, (x - lo) / span.clamp_min(1e-12), torch.zeros_like(x))


def render_flow_image(displacement: torch.Tensor, size: int = 28) -> torch.Tensor:
    """(B, 2, H, W) onset->apex displacement -> (B, 3, size, size) flow image in [0, 1], channels
    strain, v, u: ``frl_core.motion.flow_image.flow_image`` in torch (differentiable; H and W multiples of
    ``size`` average exact areas as OpenCV's INTER_AREA does)."""
    uv = F.adaptive_avg_pool2d(displacement.double(), size)
    u, v = uv[:, 0], uv[:, 1]
    uy, ux = torch.gradient(u, dim=(1, 2))
    vy, vx = torch.gradient(v, dim=(1, 2))
    strain = torch.sqrt(ux * ux + vy * vy + 0.5 * (uy + vx) ** 2 + 1e-24)
    return _minmax(torch.stack((strain, v, u), dim=1)).to(displacement.dtype)


def mirror_flow_image(flow: torch.Tensor) -> torch.Tensor:
    """A (B, 3, H, W) flow image in [0, 1] seen in a mirror: flipped left-right, u negated.

    With per-image min-max normalisation -u maps exactly to 1 - u; v and the strain (a magnitude) keep
    their values. Channel 2 is u in OpenCV's order.
    """
    out = torch.flip(flow, dims=[3]).clone()
    out[:, 2] = 1.0 - out[:, 2]
    return out


# ------------------------------------------------------------------------------------------ network


class MotionTransformer(nn.Module):
    """A spatial transformer for the motion map: a tiny localisation network predicts a shift (up to 20 % of
    the side), a roll (up to 0.2 rad) and a scale (0.8-1.2), and the map is resampled by them. Its last
    layer starts at zero, so it starts as the identity."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.local = nn.Sequential(nn.Conv2d(channels, 8, 3, stride=2, padding=1), nn.GELU(),
                                   nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.GELU(),
                                   nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.params = nn.Linear(16, 4)
        nn.init.zeros_(self.params.weight)
        nn.init.zeros_(self.params.bias)

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        p = torch.tanh(self.params(self.local(motion)))
        scale, angle = 1.0 + 0.2 * p[:, 0], 0.2 * p[:, 1]
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        theta = torch.stack((torch.stack((cos, -sin, 0.2 * p[:, 2]), 1), torch.stack((sin, cos, 0.2 * p[:, 3]), 1)), 1)
        grid = F.affine_grid(theta, list(motion.shape), align_corners=False)
        return F.grid_sample(motion, grid, mode="bilinear", padding_mode="border", align_corners=False)


class TrunkMember(nn.Module):
    """One more trunk and head of an ensemble (another training seed of the same recipe): motion map ->
    logits, as ``FRLDGT`` does with its own trunk and head."""

    def __init__(self, cfg: FRLDGTConfig) -> None:
        super().__init__()
        self.motion_stn: MotionTransformer | None = MotionTransformer() if cfg.motion_stn else None
        self.trunk = FusionTrunk(cfg)
        self.head = nn.Linear(cfg.embed_dim, cfg.num_classes)

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        if self.motion_stn is not None:
            motion = self.motion_stn(motion)
        return self.head(self.trunk(motion))


class FRLDGT(nn.Module):
    """The FRL-DGT network; ``model(onset, apex)`` in pair mode, ``model(flow)`` in flow mode -> logits."""

    def __init__(self, config: FRLDGTConfig | None = None) -> None:
        super().__init__()
        cfg = config or FRLDGTConfig()
        self.config = cfg
        self.dgm: DisplacementGenerator | None = None
        self.dgm_proj: nn.Module | None = None
        if cfg.input_mode == "pair":
            self.dgm = DisplacementGenerator(cfg)
            if cfg.dgm_features_to_trunk and cfg.motion_encoding == "direct":
                self.dgm_proj = nn.Conv2d(self.dgm.feature_channels, cfg.embed_dim, 1)
                nn.init.zeros_(self.dgm_proj.weight)
                nn.init.zeros_(self.dgm_proj.bias)
        self.trunk = FusionTrunk(cfg)
        self.head_drop = nn.Dropout(cfg.head_drop)
        self.head = nn.Linear(cfg.embed_dim, cfg.num_classes)
        self.num_features = cfg.embed_dim
        self.variant = "custom"
        # built last, and only when used, so the other weights' initialisation is unchanged by it
        self.au_head: nn.Linear | None = None
        if cfg.au_loss_weight > 0:
            self.au_head = nn.Linear(self.trunk.num_regions * cfg.embed_dim, cfg.num_action_units)
        self.motion_stn: MotionTransformer | None = MotionTransformer() if cfg.motion_stn else None
        self.members = nn.ModuleList(TrunkMember(cfg) for _ in range(int(cfg.ensemble_size) - 1))

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.config.class_names

    @property
    def input_mode(self) -> str:
        return self.config.input_mode

    def _check_inputs(self, x: torch.Tensor, apex: torch.Tensor | None) -> None:
        cfg = self.config
        if cfg.input_mode == "flow":
            if apex is not None:
                raise ValueError("this model is in flow mode: call model(flow), not model(onset, apex)")
            if x.dim() != 4 or x.shape[1] != 3:
                raise ValueError(f"flow mode expects a (B, 3, H, W) flow image, got shape {tuple(x.shape)}")
            return
        if apex is None:
            raise ValueError("this model is in pair mode: call model(onset, apex)")
        if x.dim() != 4 or x.shape[1] != 1 or apex.shape != x.shape:
            raise ValueError(
                f"pair mode expects onset and apex of the same (B, 1, H, W) shape, got {tuple(x.shape)} "
                f"and {tuple(apex.shape)}"
            )
        if min(x.shape[-2:]) < 2 ** len(cfg.dgm_channels):
            raise ValueError(f"faces of {tuple(x.shape[-2:])} pixels are too small for the DGM")

    def motion_from_displacement(self, displacement: torch.Tensor) -> torch.Tensor:
        """(dx, dy, |d|) in ``motion_gain`` x fraction of the face width, pooled to ``motion_size``."""
        w = displacement.shape[-1]
        d = displacement * (self.config.motion_gain / w)
        mag = torch.sqrt((d * d).sum(dim=1, keepdim=True) + 1e-6)
        return F.adaptive_avg_pool2d(torch.cat((d, mag), dim=1), self.config.motion_size)

    def motion_from_flow(self, flow: torch.Tensor) -> torch.Tensor:
        m = self.config.motion_size
        if self.config.flow_zero == "median":
            # u and v are min-max normalised per image: their median is the best "no motion" level
            uv = flow[:, 1:] - flow[:, 1:].flatten(2).median(dim=2).values[..., None, None]
            x = torch.cat(((flow[:, :1] - 0.5) * 2.0, uv * 2.0), dim=1)
        else:
            x = (flow - 0.5) * 2.0
        if x.shape[-2:] != (m, m):
            x = F.interpolate(x, size=(m, m), mode="bilinear", align_corners=False)
        return x

    def jitter(self, motion: torch.Tensor) -> torch.Tensor:
        """Training-time random shift and scale of the motion map, up to ``motion_jitter`` of its side."""
        b = motion.shape[0]
        j = self.config.motion_jitter
        scale = 1.0 + (torch.rand(b, device=motion.device) * 2 - 1) * j
        shift = (torch.rand(b, 2, device=motion.device) * 2 - 1) * (2 * j)
        theta = torch.zeros(b, 2, 3, device=motion.device, dtype=motion.dtype)
        theta[:, 0, 0] = scale
        theta[:, 1, 1] = scale
        theta[:, :, 2] = shift
        grid = F.affine_grid(theta, list(motion.shape), align_corners=False)
        return F.grid_sample(motion, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def forward_features(self, x: torch.Tensor, apex: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
        """``features`` (B, D), ``region_tokens`` (B, R, D) (the fused AU-region tokens), ``displacement``
        (B, 2, H, W) in pixels or None in flow mode, ``motion``, and ``flow_image`` (B, 3, 28, 28): the input
        flow image, or the one rendered from the displacement with ``motion_encoding = "flow_image"`` (None
        otherwise)."""
        self._check_inputs(x, apex)
        extra = None
        flow = None
        if self.dgm is None:
            displacement = None
            flow = x
            motion = self.motion_from_flow(x)
        else:
            displacement, bottleneck = self.dgm(x, apex)
            if self.config.motion_encoding == "flow_image":
                flow = render_flow_image(displacement, self.config.flow_input_size)
                motion = self.motion_from_flow(flow)
            else:
                motion = self.motion_from_displacement(displacement)
            if self.dgm_proj is not None:
                extra = F.adaptive_avg_pool2d(self.dgm_proj(bottleneck), self.config.motion_size // 4)
        if self.training and self.config.motion_jitter > 0:
            motion = self.jitter(motion)
        if self.motion_stn is not None:
            motion = self.motion_stn(motion)
        features, regions = self.trunk.forward_tokens(motion, extra)
        return {"features": features, "region_tokens": regions, "displacement": displacement, "motion": motion,
                "flow_image": flow}

    def forward_flow_image(self, flow: torch.Tensor) -> torch.Tensor:
        """Logits of a (B, 3, H, W) flow image in [0, 1] through the trunk and head: what flow mode does
        with its input and what ``motion_encoding = "flow_image"`` does after the DGM (used for mirror
        test-time averaging without running the DGM twice)."""
        motion = self.motion_from_flow(flow)
        if self.training and self.config.motion_jitter > 0:
            motion = self.jitter(motion)
        if self.motion_stn is not None:
            motion = self.motion_stn(motion)
        return self.forward_head(self.trunk(motion))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.head_drop(features))

    def ensemble_flow_logits(self, flow: torch.Tensor) -> torch.Tensor:
        """(M, B, C) logits of a (B, 3, H, W) flow image from each of the ``ensemble_size`` trunks and
        heads, the first being ``trunk``/``head`` (what ``forward_flow_image`` gives in eval mode)."""
        motion = self.motion_from_flow(flow)
        first = self.motion_stn(motion) if self.motion_stn is not None else motion
        out = [self.forward_head(self.trunk(first))]
        out += [member(motion) for member in self.members]
        return torch.stack(out)

    def forward(self, x: torch.Tensor, apex: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_head(self.forward_features(x, apex)["features"])

    def au_logits(self, region_tokens: torch.Tensor) -> torch.Tensor:
        """(B, R, D) fused AU-region tokens -> (B, num_action_units) AU logits (needs ``au_loss_weight`` > 0)."""
        if self.au_head is None:
            raise RuntimeError("this model has no AU head: it was built with au_loss_weight = 0")
        return self.au_head(region_tokens.flatten(1))

    def training_losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Weighted losses of one batch; ``total`` is what to backpropagate."""

        cfg = self.config
        if cfg.input_mode == "flow":
            if "flow" not in batch:
                raise KeyError("a flow-mode batch needs a 'flow' tensor")
            out = self.forward_features(batch["flow"])
        else:
            if "onset" not in batch or "apex" not in batch:
                raise KeyError("a pair-mode batch needs 'onset' and 'apex' tensors")
            out = self.forward_features(batch["onset"], batch["apex"])
        logits = self.forward_head(out["features"])
        ce = F.cross_entropy(logits, batch["label"], label_smoothing=cfg.label_smoothing)
        losses = {"classification": ce}
        total = cfg.classification_weight * ce
        if out["displacement"] is not None:
            parts = displacement_losses(batch["onset"], batch["apex"], out["displacement"], cfg,
                                        teacher_flow=batch.get("teacher_flow"))
            for name, (weight, value) in parts.items():
                losses[name] = value
                total = total + weight * value
        if self.au_head is not None:
            au = masked_au_loss(self.au_logits(out["region_tokens"]), batch)
            losses["action_units"] = au
            total = total + cfg.au_loss_weight * au
        losses["total"] = total
        return losses


def masked_au_loss(au_logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Binary cross-entropy of the AU logits, averaged over the AUs and over the clips whose AUs are known
    (``batch["au_known"]``); zero (still in the graph) for a batch with none known."""
    if "action_units" not in batch or "au_known" not in batch:
        raise KeyError("au_loss_weight > 0 needs 'action_units' and 'au_known' in the batch "
                       "(frl_core.training.samples.attach_action_units)")
    targets = batch["action_units"].to(au_logits.dtype)
    if targets.shape != au_logits.shape:
        raise ValueError(f"AU targets {tuple(targets.shape)} do not match the AU head's {tuple(au_logits.shape)}: "
                         "set model.num_action_units to the vocabulary's size")
    known = batch["au_known"].to(au_logits.dtype)
    per_clip = F.binary_cross_entropy_with_logits(au_logits, targets, reduction="none").mean(dim=1)
    return (per_clip * known).sum() / known.sum().clamp(min=1.0)
