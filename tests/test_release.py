"""The release: one version everywhere, licences, citation metadata, and what `make dist` ships."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import digitlab

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import check_dist  # noqa: E402

tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def changelog_versions() -> list[str]:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", text, flags=re.M)


def test_changelog_citation_and_package_agree_on_the_version():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert changelog_versions(), "CHANGELOG.md has no '## [X.Y.Z] - YYYY-MM-DD' entry"
    assert changelog_versions()[0] == citation["version"] == digitlab.__version__ == check_dist.version()


def test_changelog_follows_keep_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text and "keepachangelog.com" in text
    for v in changelog_versions():
        assert re.search(rf"^\[{re.escape(v)}\]: https://\S+$", text, flags=re.M), f"no link for {v}"


def test_citation_cff_has_the_required_keys_of_cff_1_2_0():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors"):
        assert citation.get(key), f"CITATION.cff lacks {key}"
    assert all(a.get("name") or a.get("family-names") for a in citation["authors"])
    assert set(citation["license"]) == {"MIT", "CC-BY-4.0"}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(citation["date-released"]))
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert citation["repository-code"] == url


def test_licences_for_the_code_and_the_text():
    mit = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert mit.startswith("MIT License") and "Permission is hereby granted, free of charge" in mit
    text = (ROOT / "LICENSE-text").read_text(encoding="utf-8")
    assert "https://creativecommons.org/licenses/by/4.0/" in text
    for part in (
        "Section 1 -- Definitions.",
        "Section 8 -- Interpretation.",
        "Creative Commons may be contacted at creativecommons.org.",
    ):
        assert part in text, f"LICENSE-text lacks the legal code's {part!r}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE", "LICENSE-text"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "LICENSE-text" in readme and "CC BY 4.0" in readme and "MIT" in readme


def test_python_and_lower_bounds_are_the_tested_ones():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    freeze = (ROOT / "tests" / "data" / "colab-pip-freeze.txt").read_text().lower()
    bounds = project["dependencies"] + project["optional-dependencies"]["tf"]
    for requirement in bounds:
        name, version = re.fullmatch(r"([\w-]+)>=([\d.]+)", requirement).groups()
        assert f"\n{name.lower()}=={version}\n" in freeze, f"{requirement}: not the version Colab ships"
    assert "torch>=2.11" in project["optional-dependencies"]["torch"]
    for doc in ("README.md", "book/setup.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert "3.10+" not in text and "Python 3.11" in text, f"{doc} must say Python 3.11+"


def test_ruff_bans_modules_removed_in_python_3_12_and_3_13(tmp_path):
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed here")
    probe = tmp_path / "old.py"
    probe.write_text("import distutils\nimport imp\nfrom pipes import quote\nimport telnetlib\n")
    done = subprocess.run(
        [
            ruff,
            "check",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--no-cache",
            "--select",
            "TID251",
            str(probe),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    for module in ("distutils", "imp", "pipes", "telnetlib"):
        assert f"`{module}` is banned" in done.stdout, done.stdout


def test_check_dist_finds_what_a_wheel_must_not_hold(tmp_path):
    import tarfile
    import zipfile

    v = digitlab.__version__
    wheel = tmp_path / f"digitlab-{v}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name in (
            "digitlab/__init__.py",
            "digitlab/runtime.py",
            "digitlab/exercises/__init__.py",
            f"digitlab-{v}.dist-info/licenses/LICENSE",
            f"digitlab-{v}.dist-info/licenses/LICENSE-text",
        ):
            z.writestr(name, "")
    with tarfile.open(tmp_path / f"digitlab-{v}.tar.gz", "w:gz"):
        pass
    assert check_dist.check(tmp_path) == []
    with zipfile.ZipFile(wheel, "a") as z:
        z.writestr("tests/test_x.py", "")
        z.writestr("book/01.ipynb", "")
    problems = check_dist.check(tmp_path)
    assert "wheel holds tests/test_x.py" in problems and "wheel holds book/01.ipynb" in problems
    wheel.unlink()
    assert "expected one wheel" in check_dist.check(tmp_path)[0]


@pytest.mark.slow
@pytest.mark.registry  # `python -m build` fetches setuptools and wheel into its isolated environment
def test_the_built_wheel_and_sdist_pass_the_checks(tmp_path):
    pytest.importorskip("build")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "deprecated" not in done.stderr.lower(), done.stderr[-3000:]
    assert check_dist.check(tmp_path) == []
