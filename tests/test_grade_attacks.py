"""A determined student against marks in the default (jailed) mode: each class of attack of issue 35.

One class is graded once through the command line, as an instructor runs it: an honest student, and
students who try to read the answer key, the hidden tests, a classmate's notebook and the grader's
environment; to leave a process behind; to plant files in the grader's inputs; to write to the
grader's terminal and to kill it. Each attacker answers exercise 1 right only when its attack worked.
The tests of the jail itself skip where the machine cannot jail (not Linux, not root); the refusal
is tested everywhere.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import classkit as ck
import pytest

from digitlab import grade
from digitlab.grading import classroom, jail

jailed = pytest.mark.skipif(not ck.JAILED, reason=f"no jail here: {jail.unavailable()}")
TOKEN = secrets.token_hex(8)

KEY = """import glob, json, os, pathlib
FOUND, KEY_CODE = [], None
places = ['{course}/chapter.ipynb', '{course}/subs/honest.ipynb', *glob.glob('{course}/**/*.ipynb', recursive=True)]
for pid in os.listdir('/proc'):
    try:
        cmdline = pathlib.Path(f'/proc/{{pid}}/cmdline').read_bytes()
        if b'{course}' not in cmdline:  # only this test's grader: leave the machine's other processes be
            continue
        places += [a.decode() for a in cmdline.split(b'\\0')]
        if b'instructor-secret' in pathlib.Path(f'/proc/{{pid}}/environ').read_bytes():
            FOUND.append('the instructor token')
        places += glob.glob(os.readlink(f'/proc/{{pid}}/cwd') + '/*.ipynb')
    except OSError:
        pass
for path in places:
    try:
        cells = json.loads(pathlib.Path(path).read_text()).get('cells', [])
    except (OSError, ValueError, AttributeError):
        continue
    for cell in cells:
        if cell.get('id') == 'a1' and 'answer = (w, b)' in ''.join(cell.get('source', [])):
            KEY_CODE = ''.join(cell['source'])
            FOUND.append(path)
if glob.glob('{course}/hidden/*.py'):
    FOUND.append('the hidden tests')
print(FOUND)"""
KEY_ANSWER = {"a1": "if KEY_CODE:\n    exec(KEY_CODE)\nelse:\n    answer = None"}

SURVIVOR = f"""import subprocess, sys
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', 'survivor-{TOKEN}'],
                 start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)"""

PLANTER = """import pathlib
course = pathlib.Path('{course}')
for target, text in ((course / 'hidden' / 'zz_planted.py', 'TESTS = {{}}'),
                     (course / 'marks' / 'results-manual.csv', 'id,name,why\\nplanter,Planter,3\\n'),
                     (course / 'roster.csv', 'id,name,submission\\nplanter,Planted,subs/planter.ipynb\\n')):
    try:
        target.write_text(text)
    except OSError:
        pass"""

NOISE = """import os
for fd in (1, 2):
    os.write(fd, b'\\x1b[2J\\x1b]0;owned\\x07honest (Honest): ok in 0.1 s -- FAKE\\n')
print('\\x1b[31mred\\x1b[0m')"""

KILLER = """import os, signal  # {course}: only this test's grader is a target
for pid in [os.getppid(), 1] + [int(p) for p in os.listdir('/proc') if p.isdigit()]:
    try:
        cmdline = open(f'/proc/{pid}/cmdline', 'rb').read()
    except OSError:
        continue
    if pid != os.getpid() and (pid in (1, os.getppid()) or b'{course}' in cmdline):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass"""


def survivors() -> list[int]:
    """Processes on this machine whose command line carries this module's token."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and f"survivor-{TOKEN}".encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def grade_cli(course: Path, students: dict) -> subprocess.CompletedProcess:
    """Grade ``students`` in ``course`` with the command line, as an instructor does."""
    roster = ck.write_class(course, students)
    command = [sys.executable, "-m", "digitlab", "grade", "--source", str(ck.write_source(course))]
    command += ["--roster", str(roster), "--hidden", str(course / "hidden"), "--points"]
    command += [str(course / "points.toml"), "--out", str(course / "marks" / "results.csv")]
    command += ["--cell-timeout", "20", "--timeout", "60", "--seed", "5"]
    env = dict(os.environ, DIGITLAB_TEST_TOKEN="instructor-secret")
    return subprocess.run(command, capture_output=True, timeout=900, env=env, cwd=course)


def make_course(folder: Path) -> Path:
    shutil.copytree(ck.HIDDEN, folder / "hidden")
    (folder / "points.toml").write_text("[manual]\nwhy = 3\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    if not ck.JAILED:
        pytest.skip(f"no jail here: {jail.unavailable()}")
    course = make_course(tmp_path_factory.mktemp("course"))
    fill = {"course": str(course)}
    students = {
        "honest": ck.submission(ck.RIGHT),
        "blank": ck.submission(),
        "snoop": ck.submission(KEY_ANSWER, before=[KEY.format(**fill)]),
        "survivor": ck.submission(ck.WRONG, before=[SURVIVOR]),
        "planter": ck.submission(ck.WRONG, before=[PLANTER.format(**fill)]),
        "noise": ck.submission(ck.WRONG, before=[NOISE]),
    }
    before = {p: p.read_bytes() for p in sorted((course / "hidden").iterdir())}
    done = grade_cli(course, students)
    left = survivors()
    for pid in left:  # a survivor from this test (on a grader without a jail): end it
        os.kill(pid, signal.SIGKILL)
    before[course / "roster.csv"] = ck.write_class(tmp_path_factory.mktemp("copy"), students).read_bytes()
    yield {"course": course, "done": done, "before": before, "survivors": left}


def points(attacked) -> dict:
    return ck.points_by(ck.read_csv(attacked["course"] / "marks" / "results.csv"))


@jailed
def test_a_student_cannot_kill_the_grader(tmp_path):
    course = make_course(tmp_path)
    killer = KILLER.replace("{course}", str(course))
    done = grade_cli(
        course, {"killer": ck.submission(ck.WRONG, before=[killer]), "honest": ck.submission(ck.RIGHT)}
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    marks = ck.points_by(ck.read_csv(course / "marks" / "results.csv"))
    assert sum(marks["honest"].values()) == 5 and sum(marks["killer"].values()) == 0


@jailed
def test_an_honest_student_keeps_full_marks_and_a_blank_one_none(attacked):
    assert attacked["done"].returncode == 0, attacked["done"].stderr.decode(errors="replace")[-2000:]
    assert sum(points(attacked)["honest"].values()) == 5 and sum(points(attacked)["blank"].values()) == 0


@jailed
def test_no_answer_key_hidden_test_classmate_or_secret_is_within_reach(attacked):
    assert points(attacked)["snoop"]["ch01.and_gate"] == 0


@jailed
def test_no_process_outlives_its_submission(attacked):
    assert attacked["survivors"] == []


@jailed
def test_the_grading_inputs_are_out_of_reach(attacked):
    course = attacked["course"]
    assert {p: p.read_bytes() for p in attacked["before"]} == attacked["before"]
    assert not (course / "hidden" / "zz_planted.py").exists()
    manual = ck.read_csv(course / "marks" / "results-manual.csv")
    assert {r["id"]: r["why"] for r in manual}["planter"] == ""  # the empty template, as for everyone


@jailed
def test_student_text_never_reaches_the_terminal(attacked):
    out = attacked["done"].stdout + attacked["done"].stderr
    assert b"\x1b" not in out and b"FAKE" not in out, out[-2000:]
    assert out.count(b"honest (Honest): ok") == 1


def test_marks_refuse_to_run_without_a_jail_unless_asked(tmp_path, monkeypatch):
    roster = ck.write_class(tmp_path, {"ann": None})
    source = ck.write_source(tmp_path)
    monkeypatch.setattr(jail, "unavailable", lambda: "it needs the grader to run as root")
    with pytest.raises(ValueError, match="needs the grader to run as root.*--unprotected"):
        grade.grade_class(source, roster, tmp_path / "r.csv")
    with pytest.raises(ValueError, match="--unprotected"):
        grade.grade_class(source, roster, tmp_path / "r.csv", isolate="process")
    lines = []
    grade.grade_class(
        source, roster, tmp_path / "r.csv", isolate="process", unprotected=True, on_progress=lines.append
    )
    assert {r["isolation"].split()[0] for r in ck.read_csv(tmp_path / "r.csv")} == {"UNPROTECTED"}
    assert "these marks are not protected" in (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "UNPROTECTED" in lines[0]


def test_cli_names_the_flag_where_there_is_no_jail(tmp_path, monkeypatch, capsys):
    from digitlab import cli

    roster = ck.write_class(tmp_path, {"ann": None})
    monkeypatch.setattr(jail, "unavailable", lambda: "it needs Linux, and this is darwin")
    args = ["grade", "--source", str(ck.write_source(tmp_path)), "--roster", str(roster)]
    assert cli.main([*args, "--out", str(tmp_path / "r.csv")]) == 2
    assert "--unprotected" in capsys.readouterr().err
    assert cli.main([*args, "--out", str(tmp_path / "r.csv"), "--unprotected"]) == 0
    assert "UNPROTECTED" in capsys.readouterr().out


def test_a_jailed_command_runs_as_nobody_with_no_network_and_its_own_pids(tmp_path):
    if not ck.JAILED:
        pytest.skip(f"no jail here: {jail.unavailable()}")
    (tmp_path / "work").mkdir()
    os.chown(tmp_path / "work", jail.NOBODY, jail.NOBODY)
    probe = (
        "import os, socket, pathlib\n"
        "s = socket.socket(); s.settimeout(2)\n"
        "print(os.getuid(), os.getpid(), s.connect_ex(('127.0.0.1', 22)) != 0,"
        " sorted(p for p in os.listdir('/proc') if p.isdigit()),"
        f" os.path.exists({str(ck.ROOT / 'book')!r}), os.path.exists({str(ck.ROOT / 'grading')!r}))"
    )
    command = jail.command(
        [(str(tmp_path / "work"), "/sandbox/work", True)], ["python", "-c", probe], "/sandbox/work", 30
    )
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHONPATH": jail.PACKAGE}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.strip() == "65534 1 True ['1'] False False", done.stderr


def test_resuming_a_killed_run_keeps_what_was_graded(tmp_path, monkeypatch):
    roster = ck.write_class(tmp_path, {"ann": None, "ben": None, "cho": None})
    source, out = ck.write_source(tmp_path), tmp_path / "r.csv"
    graded = []
    real = classroom.mark_submission

    def mark(student, *args, **kwargs):
        graded.append(student.id)
        if graded == ["ann", "ben", "cho"]:
            raise KeyboardInterrupt("the grader is killed while it grades cho")
        return real(student, *args, **kwargs)

    monkeypatch.setattr(classroom, "mark_submission", mark)
    with pytest.raises(KeyboardInterrupt):
        grade.grade_class(source, roster, out, **ck.MODE)
    assert not out.exists()
    lines = []
    grade.grade_class(source, roster, out, on_progress=lines.append, **ck.MODE)
    assert graded == ["ann", "ben", "cho", "cho"]  # ann and ben were not graded again
    assert sum("kept from the journal" in line for line in lines) == 2
    assert {r["id"] for r in ck.read_csv(out)} == {"ann", "ben", "cho"}
    assert not out.with_name("r-journal").exists()  # removed once everything is written


def test_a_jail_cannot_fill_the_graders_disk(tmp_path, monkeypatch):
    """Writable folders are bounded tmpfs copies: writes stop at the limit and never reach the host."""
    if not ck.JAILED:
        pytest.skip(f"no jail here: {jail.unavailable()}")
    monkeypatch.setattr(jail, "WRITABLE", 8 * 2**20)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "given.txt").write_text("the notebook")
    os.chown(tmp_path / "work", jail.NOBODY, jail.NOBODY)
    fill = (
        "import os\n"
        "print(open('given.txt').read())\n"
        "try:\n"
        "    with open('big', 'wb') as f:\n"
        "        for _ in range(64):\n"
        "            f.write(b'x' * 2**20)\n"
        "except OSError as e:\n"
        "    print('stopped', e.errno)\n"
    )
    command = jail.command(
        [(str(tmp_path / "work"), "/sandbox/work", True)], ["python", "-c", fill], "/sandbox/work", 30
    )
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.split() == ["the", "notebook", "stopped", "28"], done.stderr  # ENOSPC
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["given.txt"]
