"""STSTNet (Liong et al., 2019): the shallow triple-stream network used as a peer reproduction.

Its published LOSO weights run on the MEGC2019 flow images as float 0..255 (unnormalised, OpenCV
channel order); evaluating them through this project's reader and metric code must give the peer's
logged UF1 0.7209 / UAR 0.7250, which makes it the ground truth for that code.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


class STSTNet(nn.Module):
    """Three parallel 3x3 conv branches (3/5/8 channels) -> ReLU -> BN -> max-pool, concatenated, avg-pool, fc."""

    def __init__(self, in_channels: int = 3, num_classes: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 3, kernel_size=3, padding=2)
        self.conv2 = nn.Conv2d(in_channels, 5, kernel_size=3, padding=2)
        self.conv3 = nn.Conv2d(in_channels, 8, kernel_size=3, padding=2)
        self.relu = nn.ReLU()
        self.bn1 = nn.BatchNorm2d(3)
        self.bn2 = nn.BatchNorm2d(5)
        self.bn3 = nn.BatchNorm2d(8)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=3, padding=1)
        self.avgpool = nn.AvgPool2d(kernel_size=2, stride=2)
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(5 * 5 * 16, num_classes)

    def _branch(self, conv: nn.Conv2d, bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.maxpool(bn(self.relu(conv(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, 28, 28) flow image as float 0..255 -> logits (B, num_classes)."""
        x = torch.cat(
            [self._branch(self.conv1, self.bn1, x), self._branch(self.conv2, self.bn2, x),
             self._branch(self.conv3, self.bn3, x)],
            dim=1,
        )
        return self.fc(torch.flatten(self.avgpool(x), 1))


def load_ststnet(path: str | Path, device: str = "cpu") -> STSTNet:
    """A peer fold's weights (a plain state_dict) in an STSTNet, in eval mode."""
    model = STSTNet()
    state = torch.load(str(path), map_location=device, weights_only=True)
    model.load_state_dict(state)
    return model.to(device).eval()


class STSTNetClassifier(nn.Module):
    """STSTNet behind the network contract: takes the [0,1] flow tensor, scales it to 0..255 as trained."""

    def __init__(self, num_classes: int = 3, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.net = STSTNet(num_classes=num_classes)
        self.label_smoothing = label_smoothing

    def forward(self, flow: torch.Tensor, apex: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(flow * 255.0)

    def training_losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        logits = self(batch["flow"])
        ce = F.cross_entropy(logits, batch["label"], label_smoothing=self.label_smoothing)
        return {"total": ce, "ce": ce}
