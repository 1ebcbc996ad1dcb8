"""Reader for the MEGC2019 composite 3-class benchmark (442 clips from SMIC-HS, CASME II and SAMM, 68 subjects).

Layout under the data root: ``megc2019/labels.csv`` (dataset, subject, clip, label, apex, flow),
``megc2019/apex/*.jpg`` (224x224 apex face) and ``megc2019/flow/*.png`` (28x28 onset->apex flow:
u, v, optical strain, each min-max normalised to 0..255 per image). The flow PNG is read with
``cv2.imread`` and its channel order kept as OpenCV returns it, because that is how the peer weights
and the network contract expect it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from frl_core.data.common import MEGC2019_CLASSES, DatasetError

DATASETS: tuple[str, ...] = ("smic", "casme2", "samm")
_COLUMNS = ("dataset", "subject", "clip", "label", "apex", "flow")


@dataclass(frozen=True)
class MegcClip:
    """One clip of the composite: where it comes from, its 3-class label and its two image files."""

    dataset: str
    subject: str
    clip: str
    label: int
    apex_path: Path
    flow_path: Path

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.subject}/{self.clip}"


def resolve_megc2019_dir(root: str | Path) -> Path:
    """Accept either the research data root (holding ``megc2019/``) or the ``megc2019`` folder itself."""
    root = Path(root)
    for candidate in (root, root / "megc2019"):
        if (candidate / "labels.csv").is_file():
            return candidate
    raise DatasetError(f"no MEGC2019 composite at {root}: expected labels.csv there or in {root / 'megc2019'}")


class Megc2019:
    """The composite's clip list with cached image loading; the data root is always given by the caller."""

    class_names: tuple[str, ...] = MEGC2019_CLASSES

    def __init__(self, root: str | Path) -> None:
        self.root = resolve_megc2019_dir(root)
        self.clips: list[MegcClip] = self._read_labels(self.root / "labels.csv")

    def _read_labels(self, path: Path) -> list[MegcClip]:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path} lacks the column(s) {', '.join(missing)}")
            clips = []
            for line_no, row in enumerate(reader, start=2):
                try:
                    label = int(row["label"])
                except ValueError:
                    raise DatasetError(f"{path}:{line_no}: label {row['label']!r} is not 0, 1 or 2") from None
                if not 0 <= label < len(MEGC2019_CLASSES):
                    raise DatasetError(f"{path}:{line_no}: label {label} is not 0, 1 or 2")
                clips.append(
                    MegcClip(
                        dataset=row["dataset"].strip(),
                        subject=row["subject"].strip(),
                        clip=row["clip"].strip(),
                        label=label,
                        apex_path=self.root / row["apex"].strip(),
                        flow_path=self.root / row["flow"].strip(),
                    )
                )
        if not clips:
            raise DatasetError(f"{path} lists no clips")
        return clips

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def labels(self) -> np.ndarray:
        return np.array([c.label for c in self.clips], dtype=np.int64)

    @property
    def subjects(self) -> list[str]:
        """Subject ids per clip (unique across datasets: sub01 = CASME II, 006 = SAMM, s01 = SMIC)."""
        return [c.subject for c in self.clips]

    def subject_order(self) -> list[str]:
        """Each subject once, in the order of labels.csv: the LOSO fold order."""
        return list(dict.fromkeys(self.subjects))

    def indices_of_subject(self, subject: str) -> list[int]:
        return [i for i, c in enumerate(self.clips) if c.subject == subject]

    @staticmethod
    def read_flow(path: Path) -> np.ndarray:
        """One flow image, uint8 (28, 28, 3) in OpenCV's channel order."""
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise DatasetError(f"cannot read the flow image {path}")
        return img

    @staticmethod
    def read_apex(path: Path) -> np.ndarray:
        """One apex face as uint8 grayscale (224, 224)."""
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise DatasetError(f"cannot read the apex image {path}")
        return img

    @cached_property
    def flows(self) -> np.ndarray:
        """All flow images, uint8 (N, 28, 28, 3), loaded once."""
        return np.stack([self.read_flow(c.flow_path) for c in self.clips])

    @cached_property
    def apexes(self) -> np.ndarray:
        """All apex faces, uint8 grayscale (N, 224, 224), loaded once."""
        return np.stack([self.read_apex(c.apex_path) for c in self.clips])

    def flow_tensor_input(self, indices: list[int] | np.ndarray | None = None) -> np.ndarray:
        """Flow images as the network contract wants them: float32 (N, 3, 28, 28) in [0, 1]."""
        f = self.flows if indices is None else self.flows[np.asarray(indices)]
        return np.ascontiguousarray(f.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
