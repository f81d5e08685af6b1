"""How pass time grows with graph size: `fuse-bn` and the default pipeline.

The graphs are chains of conv → batch_norm → relu blocks on a small 1x8x8x8
tensor, so building them is quick and the time is the passes' own bookkeeping
(finding users, erasing and inserting ops), not numerics.  A pass that is
linear in the graph takes 4x as long on 4x as many blocks; a scan of every op
per rewrite shows up as 16x.

    python benchmarks/pass_scaling.py    # prints the markdown section
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import machine_description, markdown_table  # noqa: E402

from n2d2c.ir import Graph, TensorType, ops  # noqa: E402
from n2d2c.passes import Pipeline  # noqa: E402

SIZES = (300, 1200, 4800)
CHANNELS = 8
PIPELINES = {
    "fuse-bn": "fuse-bn",
    "default": "remove-dropout,fuse-bn,fuse-padding,simplify-reshape,dead-code",
}


def conv_bn_relu_chain(blocks: int, seed: int = 0) -> Graph:
    """``blocks`` repetitions of conv3x3 → batch_norm → relu on a 1x8x8x8 tensor."""
    rng = np.random.default_rng(seed)
    g = Graph("chain")
    x = g.add_input("x", TensorType((1, CHANNELS, 8, 8)))
    for i in range(blocks):
        w = g.constant(rng.standard_normal((CHANNELS, CHANNELS, 3, 3)).astype(np.float32),
                       f"b{i}.w")
        b = g.constant(np.zeros(CHANNELS, np.float32), f"b{i}.b")
        x = g.add(ops.Conv2d(pads=(1, 1, 1, 1), name=f"b{i}.conv"), [x, w, b]).output
        params = [g.constant(np.full(CHANNELS, v, np.float32), f"b{i}.bn.{k}")
                  for k, v in (("scale", 1.5), ("bias", 0.1), ("mean", 0.2), ("var", 2.0))]
        x = g.add(ops.BatchNorm(name=f"b{i}.bn"), [x, *params]).output
        x = g.add(ops.Relu(name=f"b{i}.relu"), [x]).output
    g.outputs = [x]
    return g


def time_pipeline(text: str, blocks: int, repeat: int = 3) -> float:
    """Median seconds of running ``text`` on a fresh chain (building not counted)."""
    pipeline = Pipeline.parse(text)
    times = []
    for _ in range(repeat):
        graph = conv_bn_relu_chain(blocks)
        t0 = time.perf_counter()
        pipeline.run(graph, verify_each=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(sizes=SIZES) -> str:
    rows = []
    for label, text in PIPELINES.items():
        seconds = [time_pipeline(text, n) for n in sizes]
        growth = [f"{b / a:.1f}x" for a, b in zip(seconds, seconds[1:])]
        print(f"  {label}: " + ", ".join(f"{n} blocks {s:.3f} s" for n, s in zip(sizes, seconds)),
              flush=True)
        rows.append([f"`{text}`"] + [f"{s:.3f}" for s in seconds] + growth)
    headers = (["pipeline"] + [f"{n:,} blocks (s)" for n in sizes]
               + [f"{b:,}/{a:,}" for a, b in zip(sizes, sizes[1:])])
    return "\n".join([
        "## Pass scaling (conv+bn+relu chains)\n",
        f"Machine: {machine_description()}\n",
        "Median seconds of three runs of each pipeline (verification off) on a fresh chain "
        f"of conv3x3 → batch_norm → relu blocks on 1x{CHANNELS}x8x8; the last columns are "
        "growth factors for 4x as many blocks (4x is linear).\n",
        markdown_table(headers, rows),
    ])


if __name__ == "__main__":
    print(run())
