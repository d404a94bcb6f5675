"""Isolation: a submission cannot read the instructor's variables, leave anything for the next one,
or find the other submissions. Two submissions run one after the other: the first plants files
everywhere its environment points; the second answers exercise 1 right only if it sees none of it.
"""

from __future__ import annotations

import hashlib
import shutil

import classkit as ck
import pytest

from digitlab import data, grade
from digitlab.grading import isolation

PLANT = """import os, pathlib
home = pathlib.Path(os.environ['DIGITLAB_HOME'])
try:
    (home / 'mnist.npz').write_bytes(b'garbage')
except OSError:
    pass
(home / 'zoo' / 'quick').mkdir(parents=True, exist_ok=True)
(home / 'zoo' / 'quick' / 'planted.txt').write_text('x')
startup = pathlib.Path.home() / '.ipython' / 'profile_default' / 'startup'
startup.mkdir(parents=True, exist_ok=True)
(startup / '00-plant.py').write_text('PLANTED = True')
pathlib.Path('planted.txt').write_text('x')
pathlib.Path(os.environ['TMPDIR'], 'planted.txt').write_text('x')
(pathlib.Path.home() / 'planted.txt').write_text('x')"""

INSPECT = """import os, pathlib
home = pathlib.Path(os.environ['DIGITLAB_HOME'])
problems = []
if any('instructor-secret' in v for v in os.environ.values()) or 'DIGITLAB_TEST_TOKEN' in os.environ:
    problems.append('an instructor variable')
if (home / 'mnist.npz').read_bytes()[:7] == b'garbage':
    problems.append('the data file')
if list(home.rglob('planted.txt')) or list(pathlib.Path.home().rglob('planted.txt')):
    problems.append('a planted file')
if 'PLANTED' in globals():
    problems.append('a startup script')
if os.listdir('.') != ['submission.ipynb']:
    problems.append(f'the folder holds {os.listdir(".")}')
for base in pathlib.Path.cwd().parents:
    names = set(os.listdir(base)) if os.access(base, os.R_OK) else set()
    if names & {'subs', 'roster.csv', 'planter.ipynb', 'hidden'}:
        problems.append(f'{base} holds other submissions')
ALLOWED = {'PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'DIGITLAB_HOME', 'DIGITLAB_QUICK',
                      'DIGITLAB_STRICT', 'MPLBACKEND', 'TF_CPP_MIN_LOG_LEVEL', 'PYTHONNOUSERSITE',
                      'PYTHONDONTWRITEBYTECODE', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS',
                      'TF_NUM_INTEROP_THREADS', 'TF_NUM_INTRAOP_THREADS', 'JPY_PARENT_PID', 'PYDEVD_USE_FRAME_EVAL',
                      'CLICOLOR', 'CLICOLOR_FORCE', 'FORCE_COLOR', 'PAGER', 'GIT_PAGER', 'TERM', 'JPY_SESSION_NAME',
           'PYTHONPATH', 'TF_FORCE_GPU_ALLOW_GROWTH'}  # the last one: set by the kernel's own import digitlab
if set(os.environ) - ALLOWED:
    problems.append(f'unexpected variables {sorted(set(os.environ) - ALLOWED)}')
STRICT = os.environ.get('DIGITLAB_STRICT')
print(problems)"""

CLEAN_ANSWER = {"a1": "answer = (np.array([1.0, 1.0]), -1.5) if not problems and STRICT == '1' else None"}


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """The grader's DIGITLAB_HOME: a copy of the verified MNIST file (the shared cache stays untouched)."""
    home = tmp_path / "cache"
    home.mkdir()
    shutil.copy2(data.home() / data.CACHE_NAME, home / data.CACHE_NAME)
    monkeypatch.setenv("DIGITLAB_HOME", str(home))
    monkeypatch.setenv("DIGITLAB_TEST_TOKEN", "instructor-secret")
    return home


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_submission_sees_nothing_of_the_instructor_or_the_one_before(tmp_path, private_cache):
    before = digest(private_cache / data.CACHE_NAME)
    roster = ck.write_class(
        tmp_path,
        {
            "planter": ck.submission(ck.RIGHT, before=[PLANT]),
            "inspector": ck.submission(CLEAN_ANSWER, before=[INSPECT]),
        },
    )
    out = tmp_path / "marks" / "results.csv"
    runs = grade.grade_class(
        ck.write_source(tmp_path),
        roster,
        out,
        hidden=ck.HIDDEN,
        workers=1,
        cell_timeout=20,
        notebook_timeout=60,
        seed=3,
        **ck.MODE,
    )
    points = ck.points_by(ck.read_csv(out))
    assert points["planter"]["ch01.and_gate"] == 1, runs[0].detail
    assert points["inspector"]["ch01.and_gate"] == 1, [v.message for v in runs[1].verdicts]
    assert digest(private_cache / data.CACHE_NAME) == before
    assert sorted(p.name for p in private_cache.iterdir()) == [data.CACHE_NAME]


def test_the_environment_is_an_allow_list(private_cache, monkeypatch):
    monkeypatch.setenv("LANG", "C.UTF-8")
    with isolation.Workspace() as ws:
        env = ws.env()
        assert "DIGITLAB_TEST_TOKEN" not in env and "instructor-secret" not in " ".join(env.values())
        assert env["HOME"] == str(ws.home) and env["DIGITLAB_HOME"] == str(ws.digitlab)
        assert env["DIGITLAB_STRICT"] == "1" and env["DIGITLAB_QUICK"] == "1" and env["LANG"] == "C.UTF-8"
        copy = ws.digitlab / data.CACHE_NAME
        assert copy.stat().st_ino != (private_cache / data.CACHE_NAME).stat().st_ino  # a copy, not a link
        assert oct(copy.stat().st_mode & 0o777) == "0o444"
        assert sorted(p.name for p in ws.work.iterdir()) == []
    assert not ws.root.exists()


def test_container_mode_needs_a_runtime(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="podman or docker"):
        isolation.container_runtime()
    with pytest.raises(ValueError, match="podman or docker"):
        grade.grade_class(
            ck.write_source(tmp_path),
            ck.write_class(tmp_path, {"a": ck.submission()}),
            tmp_path / "r.csv",
            isolate="container",
        )


def test_container_mode_refuses_a_runtime_that_does_not_answer(monkeypatch, tmp_path):
    fake = tmp_path / "podman"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the service' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name: str(fake) if name == "podman" else None)
    with pytest.raises(
        ValueError, match="podman is installed but does not work: Cannot connect to the service"
    ):
        isolation.container_runtime()


def test_container_command_has_no_network_and_only_the_workspace(private_cache):
    with isolation.Workspace() as ws:
        command = isolation.container_command("podman", "digitlab-grader", ws, "submission.ipynb", 30)
    text = " ".join(command)
    assert command[:2] == ["podman", "run"] and "--network none" in text
    assert f"{ws.work}:/submission" in text and f"{ws.digitlab}:/digitlab" in text
    assert "instructor-secret" not in text and "DIGITLAB_STRICT=1" in text
    assert command[-1] == "submission.ipynb" and "--ExecutePreprocessor.timeout=30" in text
    functions = isolation.container_sandbox("podman", "digitlab-grader", ws)
    assert functions[:3] == ["podman", "run", "--rm"] and "-i" in functions and "--network" in functions
    assert functions[-4:] == ["digitlab-grader", "python", "-m", "digitlab.grading.sandbox"]
