"""Pictures of facial motion: colour-wheel displacement maps, arrow fields, legends, per-event figures.

Colour conventions, stated once because they differ on purpose:
``displacement_to_rgb`` and ``color_wheel_legend`` return RGB (what a Qt image or matplotlib expects);
``draw_displacement_arrows`` keeps the channel order of the image it draws on; ``render_event_figure``
returns BGR for ``cv2.imwrite``. The colour wheel is the Middlebury one: hue is the direction of motion,
saturation its magnitude, so a still face is white and strong motion is a saturated colour.

Scale: every map and arrow field uses one absolute scale, ``DISPLAY_RANGE_PX`` pixels of the 224-pixel
aligned face (scaled with the field's side), so the maps of different events compare and a still face
stays white instead of showing its noise at full colour.
"""

from __future__ import annotations

import cv2
import numpy as np

from frl_core.faces.au_regions import AU_REGIONS, canonical_region_boxes
from frl_core.types import Event

_FONT = cv2.FONT_HERSHEY_SIMPLEX

PALETTE: dict[str, str] = {
    "negative": "#fa5252",
    "positive": "#40c057",
    "surprise": "#339af0",
    "uncertain": "#adb5bd",
    "spotting_score": "#f1f3f5",
    "live_motion": "#6c757d",
    "threshold": "#ff922b",
    "truth": "#fcc2d7",
    "face_box": "#e9ecef",
    "landmarks": "#66d9e8",
    "au_region": "#cc5de8",
    "arrows": "#ffd43b",
    "left_out": "#868e96",
}
"""One meaning per colour, in every view, chart, PNG and annotated video: red, green and blue are the
classes (grey: uncertain); violet the AU regions; cyan the landmarks; orange the spotting threshold;
yellow the displacement arrows; pink the ground truth; a flat grey band an interval left out (talking).
The colour wheel of displacement maps is a scale of its own, shown with its legend."""
EXTRA_CLASS_COLORS = ("#20c997", "#f783ac", "#94d82d", "#845ef7")
"""For class names beyond the MEGC2019 three (a model trained on other labels)."""


def fitted_text_scale(text: str, width: int, scale: float, thickness: int = 1) -> float:
    """The largest font scale up to ``scale`` at which ``text`` fits ``width`` pixels less an 8-pixel margin on each
    side: a long label ("uncertain (most likely ...), while talking") ran past a figure's or a frame's edge."""
    return min(scale, scale * (width - 16) / cv2.getTextSize(text, _FONT, scale, thickness)[0][0])


def class_color(name: str, index: int = 0) -> str:
    """The colour of an emotion class (hex)."""
    return PALETTE.get(name, EXTRA_CLASS_COLORS[index % len(EXTRA_CLASS_COLORS)])


def bgr(color: str) -> tuple[int, int, int]:
    """A palette colour as an OpenCV BGR tuple."""
    value = color.lstrip("#")
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return b, g, r
ALIGNED_FACE_PX = 224
DISPLAY_RANGE_PX = 2.0
"""Displacement shown fully saturated, and as an arrow one grid cell long, in pixels of the 224-pixel
aligned face: the same for every event."""


def display_range(disp: np.ndarray, range_px: float = DISPLAY_RANGE_PX) -> float:
    """The absolute range ``range_px`` (pixels of a 224-pixel face) in pixels of this field's side."""
    return float(range_px) * np.asarray(disp).shape[-1] / ALIGNED_FACE_PX


def displacement_magnitude(disp: np.ndarray) -> np.ndarray:
    """Per-pixel length of a ``(2, H, W)`` displacement field."""
    disp = np.asarray(disp, dtype=np.float32)
    return np.sqrt(disp[0] ** 2 + disp[1] ** 2)


def _wheel_rgb(dx: np.ndarray, dy: np.ndarray, max_magnitude: float) -> np.ndarray:
    mag = np.sqrt(dx**2 + dy**2)
    # Image y grows downward; flip it so "up" on the face reads as an upward angle on the wheel.
    angle = np.arctan2(-dy, dx)
    hue = ((np.degrees(angle) % 360.0) / 2.0).astype(np.uint8)  # OpenCV hue range is 0..179
    sat = np.clip(mag / max(max_magnitude, 1e-6), 0.0, 1.0) * 255.0
    hsv = np.stack([hue, sat.astype(np.uint8), np.full_like(hue, 255)], axis=-1)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def displacement_to_rgb(disp: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-code a ``(2, H, W)`` dx, dy field as an ``(H, W, 3)`` uint8 RGB image.

    ``max_magnitude`` is the length shown fully saturated (pixels of this field); by default the
    absolute ``DISPLAY_RANGE_PX`` shared by every event.
    """
    disp = np.asarray(disp, dtype=np.float32)
    if disp.ndim != 3 or disp.shape[0] != 2:
        raise ValueError(f"expected a (2, H, W) displacement field, got shape {disp.shape}")
    disp = np.nan_to_num(disp)
    if max_magnitude is None:
        max_magnitude = display_range(disp)
    return _wheel_rgb(disp[0], disp[1], max_magnitude)


def color_wheel_legend(size: int = 96) -> np.ndarray:
    """A round RGB legend of the colour coding (white outside the disc and at its centre)."""
    c = (size - 1) / 2.0
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    dx, dy = (xs - c) / max(c, 1.0), (ys - c) / max(c, 1.0)
    wheel = _wheel_rgb(dx, dy, 1.0)
    wheel[np.sqrt(dx**2 + dy**2) > 1.0] = 255
    return wheel


def draw_displacement_arrows(
    image: np.ndarray,
    disp: np.ndarray,
    step: int = 16,
    color: tuple[int, int, int] = (0, 255, 255),
    max_magnitude: float | None = None,
    min_fraction: float = 0.25,
) -> np.ndarray:
    """Arrows of the displacement on a copy of ``image`` (grayscale becomes 3-channel).

    ``step`` is the grid spacing in pixels of ``image``; the field may have another size and is
    sampled proportionally. Arrows are drawn at one absolute scale: a displacement of ``max_magnitude``
    pixels of the field (default ``DISPLAY_RANGE_PX`` of a 224-pixel face) spans 0.9 of a grid cell,
    since micro-expression motion is often under a pixel and would be invisible at true length. Arrows
    shorter than ``min_fraction`` of that are left out.
    """
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    disp = np.nan_to_num(np.asarray(disp, dtype=np.float32))
    h, w = out.shape[:2]
    fh, fw = disp.shape[1:]
    mag = displacement_magnitude(disp)
    if max_magnitude is None:
        max_magnitude = display_range(disp)
    if max_magnitude <= 1e-6:
        return out
    step = max(4, int(step))
    gain = 0.9 * step / max_magnitude
    sx, sy = fw / w, fh / h
    thickness = 1 if step < 20 else 2
    for y in range(step // 2, h, step):
        for x in range(step // 2, w, step):
            fx, fy = min(int(x * sx), fw - 1), min(int(y * sy), fh - 1)
            dx, dy = float(disp[0, fy, fx]) / sx, float(disp[1, fy, fx]) / sy
            if mag[fy, fx] < min_fraction * max_magnitude:
                continue
            end = (int(round(x + dx * gain * sx)), int(round(y + dy * gain * sy)))
            cv2.arrowedLine(out, (x, y), end, color, thickness, cv2.LINE_AA, tipLength=0.35)
    return out


def region_magnitudes(disp: np.ndarray) -> dict[str, float]:
    """Mean displacement magnitude (pixels) inside each AU region of the canonical aligned crop."""
    disp = np.nan_to_num(np.asarray(disp, dtype=np.float32))
    mag = displacement_magnitude(disp)
    h, w = mag.shape
    boxes = canonical_region_boxes(w)
    out: dict[str, float] = {}
    for region, (x0, y0, x1, y1) in zip(AU_REGIONS, boxes):
        ys0, ys1 = int(np.floor(y0 * h / w)), int(np.ceil(y1 * h / w))
        xs0, xs1 = int(np.floor(x0)), int(np.ceil(x1))
        patch = mag[max(0, ys0):min(h, max(ys1, ys0 + 1)), max(0, xs0):min(w, max(xs1, xs0 + 1))]
        out[region.name] = float(patch.mean()) if patch.size else 0.0
    return out


def _panel(image: np.ndarray | None, size: int, title: str) -> np.ndarray:
    """A titled square tile; a grey tile saying "not available" when the image is missing."""
    tile = np.full((size + 24, size, 3), 255, np.uint8)
    if image is None:
        tile[24:] = 220
        cv2.putText(tile, "not available", (10, 24 + size // 2), _FONT, 0.5, (80, 80, 80), 1, cv2.LINE_AA)
    else:
        img = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
        tile[24:] = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    cv2.putText(tile, title, (6, 17), _FONT, 0.5, (30, 30, 30), 1, cv2.LINE_AA)
    return tile


def _bars(values: dict[str, float], width: int, title: str, fmt: str, highlight: str | None,
          scale: float | None = None) -> np.ndarray:
    """Horizontal labelled bars, one per entry (BGR)."""
    row = 20
    img = np.full((28 + row * max(len(values), 1), width, 3), 255, np.uint8)
    cv2.putText(img, title, (6, 18), _FONT, 0.5, (30, 30, 30), 1, cv2.LINE_AA)
    if not values:
        cv2.putText(img, "not available", (6, 42), _FONT, 0.45, (80, 80, 80), 1, cv2.LINE_AA)
        return img
    finite = [v for v in values.values() if np.isfinite(v)]
    top = max(scale if scale is not None else max(finite, default=1.0), 1e-9)
    bar_x = 156
    bar_w = width - bar_x - 70
    for i, (name, value) in enumerate(values.items()):
        y = 28 + i * row
        cv2.putText(img, name[:22], (6, y + 14), _FONT, 0.42, (30, 30, 30), 1, cv2.LINE_AA)
        frac = float(np.clip(value / top, 0.0, 1.0)) if np.isfinite(value) else 0.0
        color = (40, 140, 230) if name == highlight else (170, 150, 120)
        cv2.rectangle(img, (bar_x, y + 3), (bar_x + int(bar_w * frac), y + row - 3), color, -1)
        cv2.rectangle(img, (bar_x, y + 3), (bar_x + bar_w, y + row - 3), (200, 200, 200), 1)
        text = fmt.format(value) if np.isfinite(value) else "-"
        cv2.putText(img, text, (bar_x + bar_w + 6, y + 14), _FONT, 0.42, (30, 30, 30), 1,
                    cv2.LINE_AA)
    return img


def render_event_figure(event: Event, tile: int = 224) -> np.ndarray:
    """The per-event picture (BGR uint8): onset and apex faces, colour-coded displacement with its
    legend, arrows on the apex face, the label with class probabilities, and motion per AU region."""
    disp = event.displacement
    color_map = None
    arrows = None
    if disp is not None:
        color_map = cv2.cvtColor(displacement_to_rgb(disp), cv2.COLOR_RGB2BGR)
        legend = cv2.cvtColor(color_wheel_legend(max(32, tile // 4)), cv2.COLOR_RGB2BGR)
        color_map = cv2.resize(color_map, (tile, tile), interpolation=cv2.INTER_NEAREST)
        lh = legend.shape[0]
        color_map[tile - lh - 4:tile - 4, tile - lh - 4:tile - 4] = legend
        base = event.apex_face if event.apex_face is not None else np.full((tile, tile), 128, np.uint8)
        base = cv2.resize(base, (tile, tile), interpolation=cv2.INTER_AREA)
        arrows = draw_displacement_arrows(base, disp, step=max(8, tile // 14))
    panels = [
        _panel(event.onset_face, tile, f"onset  #{event.onset_index}"),
        _panel(event.apex_face, tile, f"apex  #{event.apex_index} (registered)"),
        _panel(color_map, tile, f"map: full colour = {DISPLAY_RANGE_PX:g} px"),
        _panel(arrows, tile, f"arrows, one cell = {DISPLAY_RANGE_PX:g} px"),
    ]
    gap = np.full((tile + 24, 6, 3), 255, np.uint8)
    top = np.hstack([p if i == 0 else np.hstack([gap, p]) for i, p in enumerate(panels)])
    width = top.shape[1]
    header = np.full((40, width, 3), 255, np.uint8)
    text = (f"event {event.event_id}: {event.label_text()}" + (", while talking" if event.while_talking else "")
            + f"   {event.kind}   frames {event.onset_index}-{event.apex_index}-{event.offset_index}   "
            f"{event.onset_time:.2f}-{event.offset_time:.2f} s   score {event.score:.3g}")
    cv2.putText(header, text, (8, 27), _FONT, fitted_text_scale(text, width, 0.6), (20, 20, 20), 1, cv2.LINE_AA)
    half = width // 2 - 3
    probs = _bars(dict(event.probabilities), half, "class probabilities", "{:.2f}", event.top_class, scale=1.0)
    labels = {r.label: float(event.region_magnitude.get(r.name, float("nan"))) for r in AU_REGIONS}
    finite = {k: v for k, v in labels.items() if np.isfinite(v)}
    regions = _bars(labels, width - half - 6, "mean motion per AU region (px of the 224-px face)", "{:.3f}",
                    max(finite, key=finite.get) if finite else None,
                    scale=max(max(finite.values(), default=0.0), DISPLAY_RANGE_PX / 2))
    h = max(probs.shape[0], regions.shape[0])
    probs = np.vstack([probs, np.full((h - probs.shape[0], probs.shape[1], 3), 255, np.uint8)])
    regions = np.vstack([regions, np.full((h - regions.shape[0], regions.shape[1], 3), 255, np.uint8)])
    bottom = np.hstack([probs, np.full((h, 6, 3), 255, np.uint8), regions])
    return np.vstack([header, top, bottom])
