"""The CLI asks each backend for its options: `n2d2c backends` lists them, `-X` values
arrive as text and the backend checks and converts them (registry.Backend)."""

from __future__ import annotations

import pytest

from n2d2c.backends.registry import all_backends, backend_names
from n2d2c.cli import main


def test_backends_lists_every_backend_with_its_options_and_pipeline(capsys):
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    for backend in all_backends():
        assert f"{backend.name} " in out and backend.description in out
        for option in backend.options:
            assert f"-X {option.name}={option.default}" in out
    assert "-X onnx_format=qdq (qdq | qop)" in out
    assert "default pipeline: remove-dropout" in out


def test_compile_help_names_the_backends_and_where_their_options_are(capsys):
    with pytest.raises(SystemExit):
        main(["compile", "--help"])
    out = capsys.readouterr().out
    assert "n2d2c backends" in out
    assert all(name in out for name in backend_names())


@pytest.mark.parametrize("flags, message", [
    (["-X", "bogus=1"], "unknown option(s) for backend cpp: bogus"),
    (["-X", "stimuli=lots"], "option 'stimuli' of backend cpp takes int"),
    (["--backend", "onnx", "-X", "onnx_format=fp8"], "expected one of qdq, qop"),
    (["--backend", "nope"], "invalid choice: 'nope'"),
    (["--backend", "onnx", "--memory-strategy", "exact"], "plan activation memory"),
])
def test_bad_options_fail_before_the_model_is_read(flags, message, tmp_path, capsys):
    assert main(["compile", str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "o"),
                 *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_option_text_is_converted_by_the_backend(lenet_path, tmp_path):
    out = tmp_path / "out"
    assert main(["compile", str(lenet_path), "-o", str(out), "-X", "stimuli=1",
                 "-X", "expected=false"]) == 0
    assert len(list((out / "stimuli").iterdir())) >= 1 and not (out / "expected").exists()


def test_option_names_take_dashes_and_choices_any_case(lenet_path, tmp_path):
    assert main(["compile", str(lenet_path), "--backend", "onnx", "-o", str(tmp_path / "o"),
                 "-X", "onnx-format=QOP", "-X", "qop_requant=QLinear"]) == 0
    assert (tmp_path / "o" / "model.onnx").exists()
