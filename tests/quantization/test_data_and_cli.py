"""Calibration data files (npz, npy, image folders) and the command line:
`n2d2c quantize`, `n2d2c run --nbbits`, `n2d2c evaluate`."""

from __future__ import annotations

import csv
import struct
import sys
import zlib

import numpy as np
import pytest

from n2d2c.cli import main
from n2d2c.errors import InputError, ShapeError
from n2d2c.frontend import load_model
from n2d2c.ir import ops as O
from n2d2c.quantization import load_data, make_feeds, quantize_graph, read_image
from n2d2c.runtime import simulate
from quant_models import DIGITS_CALIB, DIGITS_MODEL, DIGITS_TEST, digits_arrays, digits_graph


# -- image files ---------------------------------------------------------------------
def _png_bytes(pixels: np.ndarray, filters=(0, 1, 2, 3, 4)) -> bytes:
    """A minimal PNG encoder (8-bit grey or RGB) cycling through the row filters."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    bpp = channels
    rows = pixels.reshape(height, width * channels).astype(np.int64)
    raw = bytearray()
    prev = np.zeros(width * channels, np.int64)
    for r in range(height):
        kind = filters[r % len(filters)]
        cur = rows[r]
        out = np.zeros_like(cur)
        for i in range(cur.size):
            a = cur[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2,
                    a if abs(b - c) <= abs(a - c) and abs(b - c) <= abs(a + b - 2 * c)
                    else (b if abs(a - c) <= abs(a + b - 2 * c) else c)][kind]
            out[i] = (cur[i] - pred) & 0xFF
        raw.append(kind)
        raw.extend(bytes(out.astype(np.uint8)))
        prev = cur

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    color = 0 if channels == 1 else 2
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))


@pytest.mark.parametrize("without_pillow", [False, True])
def test_png_and_pgm_images(tmp_path, monkeypatch, without_pillow):
    if without_pillow:
        monkeypatch.setitem(sys.modules, "PIL", None)  # force the built-in decoder
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (5, 7)).astype(np.uint8)
    rgb = rng.integers(0, 256, (4, 3, 3)).astype(np.uint8)
    (tmp_path / "g.png").write_bytes(_png_bytes(grey))
    (tmp_path / "c.png").write_bytes(_png_bytes(rgb))
    np.testing.assert_array_equal(read_image(tmp_path / "g.png"), grey[None] / np.float32(255))
    np.testing.assert_array_equal(read_image(tmp_path / "c.png"),
                                  np.transpose(rgb, (2, 0, 1)) / np.float32(255))
    (tmp_path / "b.pgm").write_bytes(b"P5\n# comment\n7 5\n255\n" + grey.tobytes())
    ascii_pgm = "P2\n7 5\n255\n" + " ".join(str(v) for v in grey.ravel()) + "\n"
    (tmp_path / "a.pgm").write_text(ascii_pgm)
    for name in ("a.pgm", "b.pgm"):
        np.testing.assert_array_equal(read_image(tmp_path / name), grey[None] / np.float32(255))


def test_folder_npy_and_npz_sources(tmp_path):
    x, _, calib = digits_arrays()
    folder = tmp_path / "calib"
    folder.mkdir()
    for i in range(3):  # 8x8 grey images and .npy samples mixed in one folder
        image = (calib[i, 0] * 255).round().astype(np.uint8)
        (folder / f"img{i}.pgm").write_bytes(b"P5 8 8 255\n" + image.tobytes())
        np.save(folder / f"s{i}.npy", calib[i])
    (folder / "notes.txt").write_text("ignored")
    data = load_data(folder)["x"]
    assert data.shape == (6, 1, 8, 8) and data.dtype == np.float32
    feeds = make_feeds(digits_graph(), folder)
    assert len(feeds) == 6 and feeds[0]["input"].shape == (1, 1, 8, 8)

    np.save(tmp_path / "flat.npy", calib[:5].reshape(5, 64))  # flat samples are reshaped
    assert len(make_feeds(digits_graph(), tmp_path / "flat.npy")) == 5
    np.savez(tmp_path / "named.npz", input=calib[:4], y=np.arange(4))
    assert set(load_data(tmp_path / "named.npz", input_names=["input"])) == {"input", "y"}
    assert len(make_feeds(digits_graph(), calib, count=10)) == 10

    bad = tmp_path / "bad"
    bad.mkdir()
    np.save(bad / "a.npy", np.zeros((1, 8, 8), np.float32))
    np.save(bad / "b.npy", np.zeros((1, 4, 4), np.float32))
    with pytest.raises(ShapeError, match="has shape"):
        load_data(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no .npy, .png or .pgm"):
        load_data(empty)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nxx")
    with pytest.raises(InputError, match="cannot decode"):
        read_image(tmp_path / "broken.png")


# -- command line ---------------------------------------------------------------------
def test_cli_quantize_writes_ir_and_report(tmp_path, capsys):
    out = tmp_path / "digits_q.ir"
    rc = main(["quantize", str(DIGITS_MODEL), "--calib-data", str(DIGITS_CALIB), "--calib",
               "64", "--act-clipping-mode", "KL-Divergence", "--act-rescaling-mode",
               "Fixed-point16", "--report", "-o", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "SQNR dB" in text and "/conv1/Conv" in text and "fixed-point16" in text
    report_csv = tmp_path / "digits_q.report.csv"
    rows = list(csv.DictReader(report_csv.open()))
    assert [r["layer"] for r in rows] == ["/conv1/Conv", "/conv2/Conv", "/fc/Gemm"]
    assert all(r["clipping"] == "KL-Divergence" and float(r["sqnr_db"]) > 20 for r in rows)
    # the written IR is the same network as the in-memory one
    graph = load_model(out)
    assert graph.ops_of(O.Rescale) and graph.ops_of(O.Quantize)
    x, _, calib = digits_arrays()
    same, _ = quantize_graph(digits_graph(), calib, calib=64, act_clipping_mode="KL-Divergence",
                             act_rescaling_mode="Fixed-point16", sqnr_samples=0)
    for i in range(5):
        np.testing.assert_array_equal(simulate(graph, {"input": x[i:i + 1]})["output"],
                                      simulate(same, {"input": x[i:i + 1]})["output"])


def test_cli_quantize_prints_ir_and_csv(tmp_path, capsys):
    rc = main(["quantize", str(DIGITS_MODEL), "--calib-data", str(DIGITS_CALIB), "--calib", "8",
               "--nbbits", "16", "--csv", str(tmp_path / "r.csv")])
    assert rc == 0
    text = capsys.readouterr().out
    assert text.startswith("graph @") and "tensor<1x8x8x8xi16>" in text
    assert (tmp_path / "r.csv").read_text().startswith("layer,op,clipping")


def test_cli_run_and_evaluate_quantized(tmp_path, capsys):
    rc = main(["run", str(DIGITS_MODEL), "--nbbits", "8", "--calib-data", str(DIGITS_CALIB),
               "--calib", "16", "--output", str(tmp_path / "out.npy")])
    assert rc == 0
    probabilities = np.load(tmp_path / "out.npy")
    assert probabilities.shape == (1, 10) and abs(float(probabilities.sum()) - 1) < 1e-5
    capsys.readouterr()
    rc = main(["evaluate", str(DIGITS_MODEL), "--data", str(DIGITS_TEST), "--calib-data",
               str(DIGITS_CALIB), "--act-rescaling-mode", "Double-shift", "--limit", "120"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "float accuracy:" in text and "confusion matrix" in text
    accuracy = float(text.split("accuracy: ")[2].split("%")[0])
    assert accuracy > 95


def test_cli_errors(tmp_path, capsys):
    assert main(["run", str(DIGITS_MODEL), "--nbbits", "8"]) == 2
    assert "--calib-data" in capsys.readouterr().err
    assert main(["quantize", str(DIGITS_MODEL), "--calib-data", str(tmp_path / "nope")]) == 3
    assert main(["evaluate", str(DIGITS_MODEL), "--data", str(DIGITS_CALIB)]) == 3  # no labels
    assert "labels" in capsys.readouterr().err
    assert main(["quantize", str(DIGITS_MODEL), "--calib-data", str(DIGITS_CALIB),
                 "--act-clipping-mode", "max"]) == 2
