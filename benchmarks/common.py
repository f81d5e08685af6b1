"""Helpers shared by the benchmarks: timing, machine description, tables."""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable, Sequence


def cpu_model() -> str:
    """The CPU's model name, e.g. "Intel(R) Xeon(R) Processor @ 2.80GHz" (the one the
    autotuner records in tune.json)."""
    from n2d2c.backends.cpp.autotune import cpu_model as model
    return model()


def machine_description() -> str:
    return f"{cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}"


def median_seconds(fn: Callable[[], object], *, repeat: int = 20, warmup: int = 2,
                   budget_s: float = 10.0) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs (fewer if it exceeds the budget)."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s and len(times) >= 3:
            break
    return statistics.median(times)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def isa_description(opt: str = "-O3 -march=native", cxx: str = "g++") -> str:
    """The vector instruction set ``cxx opt`` compiles for on this machine, e.g. "AVX-512
    (VNNI)", from the compiler's predefined macros."""
    import subprocess
    proc = subprocess.run([cxx, *opt.split(), "-dM", "-E", "-x", "c++", "-"], input="",
                          capture_output=True, text=True)
    macros = proc.stdout
    if "__AVX512F__" in macros:
        extras = [name for macro, name in (("__AVX512VNNI__", "VNNI"), ("__AMX_TILE__", "AMX"))
                  if macro in macros]
        return "AVX-512" + (f" ({', '.join(extras)})" if extras else "")
    if "__AVX2__" in macros:
        return "AVX2" + (" (FMA)" if "__FMA__" in macros else "")
    if "__AVX__" in macros:
        return "AVX"
    return "SSE2" if "__SSE2__" in macros else "scalar"


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def _busy_seconds() -> float | None:
    """CPU seconds all cores have spent busy since boot (/proc/stat), None off Linux."""
    try:
        fields = open("/proc/stat").readline().split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)   # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class OtherLoad:
    """Cores that processes other than this one and its children kept busy during a
    ``with`` block, on average: what a load average cannot tell apart from the benchmark's
    own threads.  ``cores`` is None where /proc/stat is missing."""

    def __enter__(self):
        self._wall, self._busy, self._own = time.perf_counter(), _busy_seconds(), _own_seconds()
        self.cores = None
        return self

    def __exit__(self, *exc):
        busy = _busy_seconds()
        if busy is not None and self._busy is not None:
            wall = max(time.perf_counter() - self._wall, 1e-9)
            self.cores = max(0.0, (busy - self._busy) - (_own_seconds() - self._own)) / wall
        return False


QUIET_CORES = 0.1


def load_note(other: float | None) -> str:
    """What ``OtherLoad.cores`` says about a measurement."""
    if other is None:
        return "other processes' CPU use unknown"
    text = f"other processes used {other:.2f} cores"
    return text + (": quiet" if other <= QUIET_CORES
                   else ": NOT quiet, the times (above all with 2 threads) are unreliable")


def per_cpu_section(results: str, title: str, intro: str, heading: str, table: str) -> str:
    """Section ``## title`` of a RESULTS.md holding one ``### heading`` table per CPU: the
    subsection ``heading`` is replaced by ``table``, those of other CPUs (read from the text
    ``results``) are kept, newest first."""
    others = []
    lines = results.splitlines()
    try:
        start = lines.index(f"## {title}")
    except ValueError:
        start = None
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        current = None
        for line in lines[start + 1:end]:
            if line.startswith("### "):
                current = [line]
                others.append(current)
            elif current is not None:
                current.append(line)
    kept = ["\n".join(sub).strip() + "\n" for sub in others
            if sub[0].split(" — ")[0] != f"### {heading}".split(" — ")[0]]
    return "\n".join([f"## {title}\n", intro.strip() + "\n", f"### {heading}\n",
                      table.strip() + "\n", *kept])


def measured_on(opt: str = "-O3 -march=native") -> str:
    """One line for a section: the date, the CPU, the instruction set ``opt`` builds for and
    the load average (1 min) at the time of the call."""
    import datetime
    return (f"Measured {datetime.date.today().isoformat()} on {cpu_model()}; C++ built with "
            f"`{opt}` ({isa_description(opt)}); load average (1 min) {load_average()[0]:.2f} "
            "at the end.\n\n")
