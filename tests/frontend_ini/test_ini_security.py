"""Files named by an INI stay inside its folder (or allow_dirs); size limits."""

from __future__ import annotations

import os

import pytest

from n2d2c.errors import InputError, ResourceLimitError
from n2d2c.frontend.ini import IniLimits, load_ini

from .helpers import assert_at, error_of

TPL = "[{{SECTION_NAME}}_x]\nA=1\n"


@pytest.fixture
def layout(tmp_path):
    """tmp/project/main.ini next to tmp/outside/evil.ini.tpl."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (outside / "evil.ini.tpl").write_text(TPL)
    (outside / "model.onnx").write_text("not really")
    return project, outside


def test_dotdot_escape_is_refused(layout) -> None:
    project, _ = layout
    main = project / "main.ini"
    main.write_text("[sp]\n[x@../outside/evil.ini.tpl]\n")
    err = error_of(load_ini, main, env={})
    assert isinstance(err, InputError)
    assert_at(err, main, 2, 4)
    assert "'..' leaves the allowed folders" in str(err)


def test_dotdot_inside_the_folder_is_fine(layout) -> None:
    project, _ = layout
    (project / "sub").mkdir()
    (project / "t.ini.tpl").write_text(TPL)
    main = project / "main.ini"
    main.write_text("[x@sub/../t.ini.tpl]\n")
    assert "x_x" in load_ini(main, env={})


def test_absolute_path_outside_is_refused(layout) -> None:
    project, outside = layout
    main = project / "main.ini"
    main.write_text(f"[x@{outside / 'evil.ini.tpl'}]\n")
    err = error_of(load_ini, main, env={})
    assert_at(err, main, 1, 4)
    assert "absolute path is outside" in str(err)
    # Through an environment variable it is refused just the same ...
    main.write_text("[x@${EVIL}/evil.ini.tpl]\n")
    err = error_of(load_ini, main, env={"EVIL": str(outside)})
    assert "outside the allowed folders" in str(err)
    # ... unless the caller allows that folder.
    doc = load_ini(main, env={"EVIL": str(outside)}, allow_dirs=[outside])
    assert doc.section("x_x").template.name == "evil.ini.tpl"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_symlink_escape_is_refused(layout) -> None:
    project, outside = layout
    link = project / "innocent.ini.tpl"
    try:
        link.symlink_to(outside / "evil.ini.tpl")
    except OSError:
        pytest.skip("cannot create symlinks")
    main = project / "main.ini"
    main.write_text("[x@innocent.ini.tpl]\n")
    err = error_of(load_ini, main, env={})
    assert_at(err, main, 1, 4)
    assert "symlink" in str(err) and "outside" in str(err)
    # A symlink that stays inside the folder is fine.
    (project / "real.ini.tpl").write_text(TPL)
    (project / "alias.ini.tpl").symlink_to(project / "real.ini.tpl")
    main.write_text("[x@alias.ini.tpl]\n")
    assert "x_x" in load_ini(main, env={})


def test_include_escape_is_refused(layout) -> None:
    project, _ = layout
    tpl = project / "t.ini.tpl"
    tpl.write_text("A=1\n{% include ../outside/evil.ini.tpl %}\n")
    main = project / "main.ini"
    main.write_text("[x@t.ini.tpl]\n")
    err = error_of(load_ini, main, env={})
    assert_at(err, tpl, 2, 1)
    assert "'..' leaves" in str(err)


def test_files_named_by_properties_are_confined(layout) -> None:
    project, outside = layout
    (project / "weights.dat").write_text("1 2 3")
    main = project / "main.ini"
    main.write_text("[onnx]\nFile=${M}/model.onnx\n"
                    "[ok]\nFile=weights.dat\n[gone]\nFile=missing.dat\n")
    doc = load_ini(main, env={"M": str(outside)})
    assert doc.resolve_file("ok", "File") == (project / "weights.dat").resolve()
    err = error_of(doc.resolve_file, "onnx", "File")
    assert_at(err, main, 2, 6)
    assert "outside the allowed folders" in str(err)
    err = error_of(doc.resolve_file, "gone", "File")
    assert "'missing.dat' not found" in str(err)
    doc = load_ini(main, env={"M": str(outside)}, allow_dirs=[outside])
    assert doc.resolve_file("onnx", "File").name == "model.onnx"


def test_file_size_limit(tmp_path) -> None:
    main = tmp_path / "big.ini"
    main.write_text("[a]\n" + "X=1\n" * 1000)
    err = error_of(load_ini, main, env={}, limits=IniLimits(max_file_size=100))
    assert isinstance(err, ResourceLimitError)
    assert "--max-ini-file-size" in str(err) and "max_file_size" in str(err)


def test_non_utf8_bytes_still_load(tmp_path) -> None:
    main = tmp_path / "latin1.ini"
    main.write_bytes(b"; couche convolutionnelle \xe9\xe0\n[a]\nX=1\n")
    assert load_ini(main, env={}).get_int("a", "X") == 1
