"""N2D2-style ``Key=Value`` parameter files."""

import pytest

from n2d2c.errors import InputError, ParseError, UsageError
from n2d2c.passes.memory import (MemoryOptions, options_from_params, parse_params,
                                 read_memory_options)

TEXT = """\
# memory settings
MemoryManagerStrategy=OptimizeMaxLifetimeMinSizeFirst
 OptimizeBufferMemory = 0
OptimizeNoBranchConcat=true
IncludeInputInBuffer=1
MemoryAlignment=16
; n2d2c extension
MemoryExactTimeLimit=2.5
"""


def test_reads_every_key(tmp_path):
    path = tmp_path / "params.txt"
    path.write_text(TEXT)
    assert read_memory_options(path) == MemoryOptions(
        IncludeInputInBuffer=True, OptimizeBufferMemory=False, OptimizeNoBranchConcat=True,
        MemoryAlignment=16, MemoryManagerStrategy="OptimizeMaxLifetimeMinSizeFirst",
        exact_time_limit=2.5)


def test_defaults_match_n2d2_but_the_strategy():
    assert options_from_params(parse_params("")) == MemoryOptions()
    # every heuristic, smallest arena: N2D2's OptimizeMaxLifetimeMaxSizeFirst stays selectable
    assert MemoryOptions().MemoryManagerStrategy == "best"


@pytest.mark.parametrize("text,kind,where,words", [
    ("MemoryAlignment 4", ParseError, "p:1:1", "Key=Value"),
    ("=4", ParseError, "p:1:1", "missing key"),
    ("MemoryAlignment=4\nMemoryAlignment=8", ParseError, "p:2:1", "duplicate"),
    ("OptimiseBufferMemory=1", InputError, "p:1:22", "unknown memory parameter"),
    ("OptimizeBufferMemory=2", InputError, "p:1:22", "expects 0 or 1"),
    ("MemoryAlignment=0", InputError, "p:1:17", "positive integer"),
    ("MemoryAlignment= x", InputError, "p:1:18", "positive integer"),
    ("MemoryManagerStrategy=Fastest", InputError, "p:1:23", "unknown MemoryManagerStrategy"),
    ("MemoryExactTimeLimit=-1", InputError, "p:1:22", "positive number"),
])
def test_errors_point_at_the_problem(text, kind, where, words):
    with pytest.raises(kind) as info:
        options_from_params(parse_params(text, "p"))
    assert str(info.value.location) == where
    assert words in str(info.value)


def test_unknown_keys_can_be_left_to_other_readers():
    params = parse_params("NbBits=8\nMemoryAlignment=4")
    assert options_from_params(params, strict=False).MemoryAlignment == 4


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_memory_options(tmp_path / "absent.txt")


def test_options_validate_themselves():
    with pytest.raises(UsageError, match="unknown MemoryManagerStrategy"):
        MemoryOptions(MemoryManagerStrategy="nope")
    with pytest.raises(UsageError):
        MemoryOptions(MemoryAlignment=0)
