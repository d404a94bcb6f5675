"""The `digitlab` command line: `python -m digitlab fetch` and the console script."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from digitlab import cli, data


def test_fetch_prints_checksums():
    done = subprocess.run(
        [sys.executable, "-m", "digitlab", "fetch"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    for digest in data.ARRAY_SHA256.values():
        assert digest in done.stdout


def test_console_script_is_installed():
    exe = shutil.which("digitlab", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe is not None
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "fetch" in done.stdout


def test_fetch_failure_exits_non_zero(monkeypatch, capsys):
    def fail(verbose=True):
        raise data.DataError("could not load MNIST from any source: test")

    monkeypatch.setattr(data, "fetch", fail)
    assert cli.main(["fetch"]) == 1
    assert "could not load MNIST" in capsys.readouterr().err


def test_unknown_command_is_an_error():
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["no-such-command"])
    assert exit_info.value.code == 2
