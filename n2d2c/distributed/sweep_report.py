"""A sweep's results as a terminal table, a CSV, a Pareto plot, and the command that
reproduces the best configuration."""

from __future__ import annotations

import csv
import io
import math
import shlex
from pathlib import Path
from typing import Sequence

from .sweep import SweepRow, best_row, config_flags, pareto_front

COLUMNS = ("configuration", "accuracy", "agreement", "sqnr_db", "arena_bytes",
           "weight_bytes", "pareto")


def _cells(row: SweepRow, on_front: bool) -> list[str]:
    accuracy = "-" if row.accuracy is None else f"{row.accuracy * 100:.2f}%"
    sqnr = "inf" if math.isinf(row.sqnr_db) else f"{row.sqnr_db:.1f}"
    return [" ".join(config_flags(row.config)), accuracy, f"{row.agreement * 100:.2f}%", sqnr,
            str(row.arena_bytes), str(row.weight_bytes), "*" if on_front else ""]


def format_table(rows: Sequence[SweepRow]) -> str:
    front = set(pareto_front(rows))
    table = [list(COLUMNS)] + [_cells(r, i in front) for i, r in enumerate(rows)]
    widths = [max(len(line[c]) for line in table) for c in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) if c == 0 else cell.rjust(w)
                       for c, (cell, w) in enumerate(zip(line, widths))).rstrip()
             for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def write_csv(rows: Sequence[SweepRow], path: str | Path) -> None:
    from ..util.atomic import atomic_write_bytes
    front = set(pareto_front(rows))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(COLUMNS) + ["samples"])
    for i, row in enumerate(rows):
        writer.writerow([" ".join(config_flags(row.config)),
                         "" if row.accuracy is None else f"{row.accuracy:.6f}",
                         f"{row.agreement:.6f}", f"{row.sqnr_db:.3f}", row.arena_bytes,
                         row.weight_bytes, int(i in front), row.samples])
    atomic_write_bytes(Path(path), buffer.getvalue().encode())


def write_pareto_png(rows: Sequence[SweepRow], path: str | Path) -> None:
    """Quality (accuracy, or top-1 agreement with float without labels) against memory
    (arena + weights), the Pareto front joined by a line."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    front = sorted(pareto_front(rows), key=lambda i: rows[i].size_bytes)
    label = "accuracy" if rows and rows[0].accuracy is not None else "top-1 agreement with float"
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    ax.scatter([r.size_bytes / 1024 for r in rows], [r.quality * 100 for r in rows],
               color="tab:blue", label="configuration")
    ax.plot([rows[i].size_bytes / 1024 for i in front], [rows[i].quality * 100 for i in front],
            color="tab:red", marker="o", label="Pareto front")
    for i in front:
        ax.annotate(" ".join(config_flags(rows[i].config)), (rows[i].size_bytes / 1024,
                    rows[i].quality * 100), fontsize=7, xytext=(4, -10),
                    textcoords="offset points")
    ax.set_xlabel("arena + weights (KiB)")
    ax.set_ylabel(f"{label} (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    from ..util.atomic import atomic_write_bytes
    atomic_write_bytes(Path(path), buffer.getvalue())


def best_command(rows: Sequence[SweepRow], model: str, calib_data: str) -> str:
    row = rows[best_row(rows)]
    return shlex.join(["n2d2c", "quantize", model, "--calib-data", calib_data,
                       *config_flags(row.config)])
