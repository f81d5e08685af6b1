"""``memory_mapping.png``: time on x, address on y, one rectangle per buffer.

Uses matplotlib's object API with the Agg canvas directly, so it neither
needs a display nor changes the process-wide pyplot backend.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .problem import MemoryPlan, MemoryProblem


def plot_memory_mapping(problem: MemoryProblem, plan: MemoryPlan, path: str | Path) -> None:
    buffers = problem.by_name()
    names = sorted(plan.offsets, key=lambda n: (buffers[n].start, n))
    fig = Figure(figsize=(12, 7), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours = matplotlib.colormaps["tab20"]
    first = min((buffers[n].start for n in names), default=0)
    last = max((buffers[n].end for n in names), default=0)
    for i, name in enumerate(names):
        b, offset = buffers[name], plan.offsets[name]
        colour = colours(i % 20)
        # a buffer occupies its steps [start, end] -> x from start to end + 1
        ax.add_patch(Rectangle((b.start, offset), b.end - b.start + 1, max(b.size, 0),
                               facecolor=colour, edgecolor="black", linewidth=0.6, alpha=0.75))
        ax.text(b.start + (b.end - b.start + 1) / 2, offset + b.size / 2, name,
                ha="center", va="center", fontsize=7, clip_on=True)
    ax.axhline(plan.arena_size, color="red", linewidth=1, label=f"arena {plan.arena_size} B")
    ax.axhline(plan.lower_bound, color="green", linestyle="--", linewidth=1,
               label=f"lower bound {plan.lower_bound} B")
    ax.set_xlim(first, last + 1)
    ax.set_ylim(0, max(plan.arena_size, 1) * 1.05)
    ax.set_xlabel("step")
    ax.set_ylabel("address (bytes)")
    ax.set_title(f"memory mapping: {plan.strategy} ({plan.chosen}), ratio {plan.ratio:.3f}")
    ax.grid(True, linewidth=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)  # keep off the data
    fig.subplots_adjust(right=0.8)
    fig.savefig(str(path), format="png")

