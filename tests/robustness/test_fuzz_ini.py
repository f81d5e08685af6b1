"""Fuzz the INI path (language layer and network lowering) with mutated corpus files.

Same contract as the ONNX fuzzer: only non-internal N2D2CError subclasses, no
hang, no file written.  Mutations work on lines and tokens, which is how INI
files actually go wrong (typos, missing values, wrong references).
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from fuzz_budget import CASE_TIMEOUT_S, FUZZ_CASES
from fuzz_support import run_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from n2d2c.frontend.ini import load_ini_network
from support import CORPUS, require_corpus


SEEDS = ["LeNet.ini", "mnist24_16c4s2_24c5s2_150_10.ini", "cifar-10.ini",
         "MobileNet_v1.ini", "ResNet-18.ini"]
TOKENS = ["", "0", "-1", "1e9", "999999999", "$(", "$([conv1]NbOutputs*)", "${UNDEFINED}",
          "[", "]", "=", "conv1", "sp", "Max", "Rectifier", "../../../etc/passwd", "/etc/hostname",
          "{{X}}", "{% for i in range(99999) %}", "nan", "Conv", "Pool", "Fc", "ElemWise"]
TALLY: collections.Counter = collections.Counter()


def seed_texts():
    texts = {}
    for name in SEEDS:
        path = CORPUS / "models" / name
        if path.exists():
            texts[name] = path.read_text(errors="replace").splitlines()
    return texts


TEXTS = seed_texts() if CORPUS.is_dir() else {}


def mutate(lines: list[str], draw) -> str:
    lines = list(lines)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["drop", "dup", "value", "key", "insert", "chars"]))
        i = draw(st.integers(0, len(lines) - 1))
        if kind == "drop":
            del lines[i]
        elif kind == "dup":
            lines.insert(i, lines[i])
        elif kind in ("value", "key") and "=" in lines[i]:
            key, _, value = lines[i].partition("=")
            token = draw(st.sampled_from(TOKENS))
            lines[i] = f"{key}={token}" if kind == "value" else f"{token}={value}"
        elif kind == "insert":
            lines.insert(i, draw(st.sampled_from(["[x]", "Input=x", "Type=Conv", "[sp]",
                                                  "Input=sp,sp", "NbOutputs=0", "Type=Unknown"])))
        else:
            text = lines[i]
            pos = draw(st.integers(0, len(text)))
            lines[i] = text[:pos] + draw(st.text(max_size=5)) + text[pos:]
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


@given(data=st.data())
@settings(max_examples=FUZZ_CASES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_ini_mutations(tmp_path_factory, data):
    require_corpus()
    folder = tmp_path_factory.getbasetemp() / "fuzz_ini"
    folder.mkdir(exist_ok=True)
    name = data.draw(st.sampled_from(sorted(TEXTS)))
    path = folder / name
    path.write_text(mutate(TEXTS[name], data.draw))
    env = {"N2D2_MODELS": str(folder), "N2D2_DATA": str(folder)}
    outcome = run_case(lambda: load_ini_network(path, env=env, init="zeros"),
                       seconds=CASE_TIMEOUT_S, watch=folder)
    path.unlink()
    TALLY[outcome] += 1


def test_report_ini_tally(capsys):
    with capsys.disabled():
        print(f"\nINI fuzz outcomes: {dict(sorted(TALLY.items()))}")
