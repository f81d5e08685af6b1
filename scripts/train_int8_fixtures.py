#!/usr/bin/env python3
"""Train the two networks the int8 tests measure agreement on, and export them.

    pip install torch==2.13.0 scikit-learn onnx
    python scripts/train_int8_fixtures.py     # writes tests/fixtures/{mnv3_digits,dbnet_text}.onnx

* ``mnv3_digits.onnx``: a MobileNetV3-style classifier of scikit-learn's 8x8 digits
  (the same splits as scripts/train_digits.py: tests/fixtures/digits_{calib,test}.npz).
  The graph up-samples the 8x8 image to 32x32 (Resize), then: stem conv 3x3/2 with
  hard-swish, inverted residual blocks (1x1 expand, depthwise 3x3, squeeze-excite,
  1x1 project, residual Add), a 1x1 head with hard-swish, global pooling, FC.
  Hard-swish and hard-sigmoid are written as exporters do (``x * relu6(x + 3) / 6``),
  so the ONNX graph holds Add/Clip/Mul/Div, not HardSwish.
* ``dbnet_text.onnx``: a DBNet-style text detector of synthetic pages
  (tests/fixtures/text_pages.py, 64x64 RGB): a depthwise backbone at strides 2-16, an
  FPN (1x1 laterals, nearest Resize up, Add), the four scales resized to 1/4 and
  concatenated, and a head of conv, two ConvTranspose up-samplings and a sigmoid:
  a 1x1x64x64 probability map.

Deterministic (seeds, one thread); torch is needed only here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(FIXTURES))
from text_pages import text_pages  # noqa: E402


def hswish(x):
    return x * F.relu6(x + 3.0) / 6.0


def hsigmoid(x):
    return F.relu6(x + 3.0) / 6.0


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.expand = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * hsigmoid(self.expand(F.relu(self.reduce(s))))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, expand: int, cout: int, stride: int, se: bool):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(cin, expand, 1, bias=False), nn.BatchNorm2d(expand))
        self.depthwise = nn.Sequential(nn.Conv2d(expand, expand, 3, stride, 1, groups=expand,
                                                 bias=False), nn.BatchNorm2d(expand))
        self.se = SqueezeExcite(expand, max(4, expand // 4)) if se else nn.Identity()
        self.project = nn.Sequential(nn.Conv2d(expand, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = hswish(self.expand(x))
        y = self.se(hswish(self.depthwise(y)))
        y = self.project(y)
        return x + y if self.residual else y


class MobileNetV3Digits(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16))
        self.blocks = nn.Sequential(
            InvertedResidual(16, 32, 16, 1, se=True),
            InvertedResidual(16, 48, 24, 2, se=False),
            InvertedResidual(24, 72, 24, 1, se=True),
            InvertedResidual(24, 72, 40, 2, se=True))
        self.head = nn.Conv2d(40, 64, 1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
        x = self.blocks(hswish(self.stem(x)))
        x = hswish(self.head(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def dw_block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU6(),
        nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class DBNetText(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU())                       # 1/2
        self.c2 = dw_block(8, 16, 2)                                 # 1/4
        self.c3 = dw_block(16, 24, 2)                                # 1/8
        self.c4 = dw_block(24, 32, 2)                                # 1/16
        self.lateral = nn.ModuleList(nn.Conv2d(c, 16, 1) for c in (8, 16, 24, 32))
        self.smooth = nn.ModuleList(nn.Conv2d(16, 8, 3, padding=1) for _ in range(4))
        self.head = nn.Sequential(nn.Conv2d(32, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(), nn.ConvTranspose2d(16, 8, 2, 2), nn.BatchNorm2d(8),
                                  nn.ReLU(), nn.ConvTranspose2d(8, 1, 2, 2))

    def forward(self, x):
        c1 = self.stem(x)
        c2 = self.c2(c1)
        c3 = self.c3(c2)
        c4 = self.c4(c3)
        p4 = self.lateral[3](c4)
        p3 = self.lateral[2](c3) + F.interpolate(p4, scale_factor=2.0, mode="nearest")
        p2 = self.lateral[1](c2) + F.interpolate(p3, scale_factor=2.0, mode="nearest")
        p1 = self.lateral[0](c1) + F.interpolate(p2, scale_factor=2.0, mode="nearest")
        quarter = c2.shape[-1]
        maps = [F.interpolate(s(p), size=(quarter, quarter), mode="bilinear", align_corners=False)
                if p.shape[-1] != quarter else s(p)
                for s, p in zip(self.smooth, (p1, p2, p3, p4))]
        return torch.sigmoid(self.head(torch.cat(maps, dim=1)))


def _train(model: nn.Module, x: np.ndarray, y: np.ndarray, loss_fn, epochs: int, lr: float):
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for start in range(0, len(x), 32):
            idx = order[start:start + 32]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if epoch % 5 == 4 or epoch == epochs - 1:
            print(f"  epoch {epoch + 1}: loss {total / len(x):.4f}")
    model.eval()


def _export(model: nn.Module, example: torch.Tensor, path: Path, names: tuple[str, str]) -> None:
    torch.onnx.export(model, (example,), str(path), input_names=[names[0]],
                      output_names=[names[1]], dynamic_axes={names[0]: {0: "batch"},
                                                             names[1]: {0: "batch"}},
                      opset_version=13, dynamo=False)
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def digits_classifier() -> None:
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    test = np.load(FIXTURES / "digits_test.npz")
    held_out = {arr.tobytes() for arr in test["x"]}
    train = np.array([img.tobytes() not in held_out for img in x])
    model = MobileNetV3Digits()
    print("MobileNetV3-style digits classifier:")
    _train(model, x[train], y[train], nn.CrossEntropyLoss(), epochs=30, lr=3e-3)
    with torch.no_grad():
        acc = (model(torch.from_numpy(test["x"])).argmax(1).numpy() == test["y"]).mean()
    print(f"  held-out accuracy {acc * 100:.2f}%")
    _export(model, torch.from_numpy(test["x"][:1]), FIXTURES / "mnv3_digits.onnx",
            ("input", "logits"))


def text_detector() -> None:
    images, maps = text_pages(768, seed=1)
    model = DBNetText()
    print("DBNet-style text detector:")
    _train(model, images, maps, nn.BCELoss(), epochs=20, lr=3e-3)
    test_x, test_y = text_pages(16, seed=2)
    with torch.no_grad():
        pred = model(torch.from_numpy(test_x)).numpy() > 0.5
    iou = (pred & (test_y > 0.5)).sum() / max(1, (pred | (test_y > 0.5)).sum())
    print(f"  held-out IoU with the text map {iou:.3f}")
    _export(model, torch.from_numpy(test_x[:1]), FIXTURES / "dbnet_text.onnx", ("image", "prob"))


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    digits_classifier()
    torch.manual_seed(0)
    text_detector()


if __name__ == "__main__":
    main()
