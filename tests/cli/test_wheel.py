"""An installed package, not the checkout: a wheel built from it works from an empty folder.

The wheel is built with ``pip wheel . --no-deps`` and installed into a fresh virtual environment
with its dependencies from the package registry (pip's cache makes reruns quick). The import
then runs from a folder holding nothing but the input file: everything the built-in sandbox
and the defaults need must come from inside the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from importer.sandbox import BUILT_IN_DIRECTORY
from tests.importing import write_csv

ROOT = Path(__file__).resolve().parents[2]


def test_the_packaged_demo_directory_is_the_samples_one() -> None:
    sample = (ROOT / "samples" / "directory.csv").read_bytes()
    assert BUILT_IN_DIRECTORY.read_bytes() == sample


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_imports_a_file_from_an_empty_folder(
    tmp_path: Path,
) -> None:
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--quiet", "-w", dist, cwd=ROOT)
    [wheel] = dist.glob("skills_import-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run(bindir / "python", "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)

    empty = tmp_path / "somewhere"
    empty.mkdir()
    write_csv(empty / "skills.csv", [("adele.vance@contoso.com", "Python", "expert", "")])
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    where = _run(
        bindir / "python", "-c", "import importer; print(importer.__file__)", cwd=empty, env=env
    )
    assert Path(where.strip()).is_relative_to(venv)  # the wheel's copy, not the checkout

    out = _run(bindir / "skills-import", "run", "skills.csv", cwd=empty, env=env)

    assert "created" in out
    assert "nothing was sent to Microsoft Graph" in out
    [report] = (empty / "reports").iterdir()
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["exit_code"] == 0
    assert summary["counts"]["created"] == 1
