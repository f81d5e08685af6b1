#!/usr/bin/env python3
"""Train the small digits CNN used by the quantization tests and export it.

    pip install torch scikit-learn onnx
    python scripts/train_digits.py            # writes tests/fixtures/digits_*.{onnx,npz}

The network sees scikit-learn's 8x8 handwritten digits (1 channel, pixel
values 0..16 scaled to [0, 1]):

    conv3x3(8, pad 1) - relu - conv3x3(16, pad 1) - relu - maxpool 2x2 - fc(10) - softmax

Outputs (deterministic: fixed seeds, one CPU thread, deterministic algorithms):

* ``tests/fixtures/digits_cnn.onnx``   the float model, input ``input`` [1, 1, 8, 8],
  output ``output`` [1, 10] (class probabilities);
* ``tests/fixtures/digits_test.npz``   the held-out split: ``x`` float32 [N, 1, 8, 8],
  ``y`` int64 [N];
* ``tests/fixtures/digits_calib.npz``  ``x``: 256 training images for calibration
  (so that tests never calibrate on the data they score).

torch is only needed here; n2d2c itself never imports it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

SEED = 0
REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"


def load_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)


def _modules():
    """The network class (imports torch lazily)."""
    import torch
    from torch import nn

    class DigitsCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(16 * 4 * 4, 10)
            self.probabilities = False  # end in a softmax (set for the export)

        def forward(self, x):
            x = torch.relu(self.conv1(x))
            x = self.pool(torch.relu(self.conv2(x)))
            x = self.fc(torch.flatten(x, 1))
            return torch.softmax(x, dim=1) if self.probabilities else x

    return DigitsCNN


def train(epochs: int, verbose: bool):
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x_train, x_test, y_train, y_test = load_split()
    model = _modules()()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    generator = torch.Generator().manual_seed(SEED)
    batch = 64
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=generator)
        total = 0.0
        for start in range(0, len(xt), batch):
            idx = order[start:start + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        if verbose and (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1:3d}  loss {total / len(xt):.4f}")
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x_test)).argmax(dim=1).numpy()
    accuracy = float((pred == y_test).mean())
    return model, accuracy, (x_train, x_test, y_train, y_test)


def export(model, path: Path) -> None:
    import torch

    model.probabilities = True
    wrapped = model.eval()
    dummy = torch.zeros(1, 1, 8, 8)
    kwargs = dict(input_names=["input"], output_names=["output"], opset_version=13,
                  do_constant_folding=True)
    try:
        torch.onnx.export(wrapped, (dummy,), str(path), dynamo=False, **kwargs)
    except TypeError:  # older torch without the dynamo switch
        torch.onnx.export(wrapped, (dummy,), str(path), **kwargs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", type=Path, default=FIXTURES, help="output folder")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    model, accuracy, (x_train, x_test, _, y_test) = train(args.epochs, not args.quiet)
    print(f"float test accuracy: {accuracy * 100:.2f}% on {len(y_test)} images")
    if accuracy <= 0.95:
        print("accuracy is not above 95%; not writing the fixtures", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "digits_cnn.onnx"
    export(model, onnx_path)
    np.savez_compressed(args.out / "digits_test.npz", x=x_test.astype(np.float32),
                        y=y_test.astype(np.int64))
    rng = np.random.default_rng(SEED)
    calib = x_train[np.sort(rng.choice(len(x_train), 256, replace=False))]
    np.savez_compressed(args.out / "digits_calib.npz", x=calib.astype(np.float32))

    import onnx
    onnx.checker.check_model(onnx.load(str(onnx_path)))
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size} bytes), digits_test.npz, "
          "digits_calib.npz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
