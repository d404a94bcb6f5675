"""The grader's pieces, without kernels: restore, capture, judge, marks, CLI arguments, the wheel,
and the course build's extension."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import classkit as ck
import nbformat
import numpy as np
import pytest

from digitlab import cli
from digitlab.grading import capture, judge, marks, restore

ROOT = ck.ROOT


# --- restore --------------------------------------------------------------------------------------
def test_restore_takes_answers_by_id_and_everything_else_from_the_source():
    nb = ck.submission(ck.WRONG, before=["helper = 1"], edit=ck.edit_checks)
    restored, slots = restore.restore(ck.source_chapter(), nb, "n0")
    sources = [c.source for c in restored.cells]
    source = ck.source_chapter()
    checks = [c.source for c in source.cells if c.get("id", "").startswith("c")]
    assert [
        s for s in sources if ".check(" in s
    ] == checks  # deleted, edited and moved checks restored in place
    assert "numpy_nets.sigmoid = lambda" not in "\n".join(sources)  # the edited setup cell is the source's
    assert sources[2] == "helper = 1"  # an added cell stays after the cell it followed
    assert [(s.exercise, s.expression) for s in slots] == [(e, "answer") for e in ck.EXERCISES]
    assert [s.answer_source for s in slots] == [ck.WRONG[f"a{n}"] for n in (1, 2, 3)]
    for slot in slots:
        assert "'nonce': 'n0'" in restored.cells[slot.capture_index].source
        assert slot.answer_index < slot.capture_index


def test_restore_without_the_answer_cell_uses_the_starter():
    nb = ck.submission(ck.RIGHT)
    nb.cells = [c for c in nb.cells if c.get("id") != "a2"]
    restored, slots = restore.restore(ck.source_chapter(), nb, "n")
    assert not slots[1].found and "return None" in slots[1].answer_source
    no_ids = ck.source_chapter()
    for cell in no_ids.cells:
        cell.pop("id")
    with pytest.raises(ValueError, match="source: every cell needs an id"):
        restore.restore(no_ids, nb, "n")


def test_imports_before_collects_the_notebooks_imports():
    restored, slots = restore.restore(ck.source_chapter(), ck.submission(ck.RIGHT), "n")
    prelude = restore.imports_before(restored, slots[1].answer_index)
    assert prelude.splitlines() == [
        "import numpy as np",
        "from digitlab import numpy_nets",
        "from digitlab.exercises import ch01",
    ]
    needed = restore.imports_before(restored, slots[1].answer_index, slots[1].answer_source)
    assert needed.splitlines() == ["from digitlab import numpy_nets"]  # what silu_grad uses


# --- capture --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        3,
        2.5,
        True,
        "text",
        None,
        np.arange(6.0).reshape(2, 3),
        (np.array([1.0, 1.0]), -1.5),
        [1, 2, 3],
        {"plain": [0.98, 0.99], "real": False},  # a dict answer (Exercise 4.4) or argument (a history)
    ],
)
def test_capture_round_trips_values(value):
    back = capture.decode(json.loads(json.dumps(capture.encode(value))))
    if isinstance(value, tuple):
        assert isinstance(back, tuple) and np.array_equal(back[0], value[0]) and back[1] == value[1]
    elif isinstance(value, np.ndarray):
        assert np.array_equal(back, value) and back.dtype == value.dtype
    else:
        assert back == value


def test_capture_never_unpickles():
    assert capture.decode(capture.encode(np.array([{}, 1], dtype=object))).type_name == "ndarray"
    assert isinstance(capture.decode(capture.encode(len)), capture.Function)
    import base64
    import io
    import pickle

    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    forged = {"kind": "array", "npy": base64.b64encode(buffer.getvalue()).decode()}
    with pytest.raises(ValueError):
        capture.decode(forged)
    assert pickle  # the forged payload above is a pickle: np.load refuses it
    with pytest.raises(ValueError, match="unknown captured kind"):
        capture.decode({"kind": "pickle"})
    assert isinstance(capture.decode(capture.encode({1: "a key that is not a string"})), capture.Opaque)
    with pytest.raises(ValueError, match="string keys"):
        capture.decode({"kind": "dict", "items": [[1, {"kind": "none"}]]})


def test_read_outputs_takes_only_this_runs_capture():
    payload = {"nonce": "right", "exercise": "ch01.and_gate", "answer": capture.encode(2.0)}
    outputs = [
        {"output_type": "display_data", "data": {capture.MIME: dict(payload, nonce="guess")}},
        {"output_type": "display_data", "data": {capture.MIME: payload}},
    ]
    assert capture.read_outputs(outputs, "right", "ch01.and_gate") == (2.0, "")
    assert capture.read_outputs(outputs[:1], "right", "ch01.and_gate")[1] == "no answer was captured"


# --- judge ----------------------------------------------------------------------------------------
def test_judge_uses_hidden_tests_then_public_checks_then_the_instructor():
    tests = judge.load_hidden(ck.HIDDEN)
    assert set(ck.EXERCISES) <= set(tests)
    half = judge.judge("ch01.and_gate", (np.array([1.0, 1.0]), -0.5), "", tests, 1, None)
    assert (half.status, half.score, half.parts) == ("partial", 0.5, "2/4")
    from digitlab import data

    std = data.pixel_stats(data.load_data()[0][0])[1]  # a value exercise without a hidden test
    assert "ch00.pixel_std" not in tests
    public = judge.judge("ch00.pixel_std", float(std), "", tests, 1, None)
    assert (public.status, public.score) == ("correct", 1.0)
    model = judge.judge("ch03.wider_adam", capture.Opaque("Sequential"), "", tests, 1, None)
    assert model.status == "manual" and "by hand" in model.message
    assert judge.judge("ch01.and_gate", None, "no answer was captured", tests, 1, None).status == "not run"
    with pytest.raises(ValueError, match="hidden must be a folder"):
        judge.load_hidden(ROOT / "nowhere")


def test_judging_happens_in_quick_mode_like_the_kernels(monkeypatch):
    """ch03.one_hot compares with the test labels of quick mode's subset, as the kernel saw them."""
    from digitlab import data, runtime
    from digitlab.grading import classroom

    monkeypatch.delenv("DIGITLAB_QUICK", raising=False)
    with classroom.quick_mode():
        assert runtime.is_quick()
        labels = data.load_mnist(channels="last").y_test[:100]
        verdict = judge.judge("ch03.one_hot", np.eye(10)[labels], "", {}, 1, None)
    assert verdict.status == "correct", verdict.message
    assert not runtime.is_quick()


# --- marks ----------------------------------------------------------------------------------------
def test_points_file_and_roster_are_validated(tmp_path):
    path = tmp_path / "points.toml"
    path.write_text('[points]\n"ch01.and_gate" = 4\n[manual]\nwhy = 2\n')
    scheme = marks.read_scheme(path)
    assert (
        scheme.of("ch01.and_gate") == 4
        and scheme.of("ch01.stable_softmax") == 2
        and scheme.manual == {"why": 2}
    )
    path.write_text('[points]\n"ch01.and_gate" = -1\n')
    with pytest.raises(ValueError, match=r"points: \[points\] ch01.and_gate must be a number"):
        marks.read_scheme(path)
    path.write_text("[bonus]\nx = 1\n")
    with pytest.raises(ValueError, match="unknown table"):
        marks.read_scheme(path)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n1,Ann\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['submission'\]"):
        marks.read_roster(roster)
    roster.write_text("id,name,submission\n1,Ann,a.ipynb\n1,Ben,b.ipynb\n")
    with pytest.raises(ValueError, match="line 3 has a repeated id '1'"):
        marks.read_roster(roster)


def test_manual_points_are_checked_against_their_maximum(tmp_path):
    students = [marks.Student("s1", "Ann", tmp_path / "a.ipynb")]
    scheme = marks.Scheme({}, {"why": 2.0})
    manual = tmp_path / "manual.csv"
    assert marks.read_manual(manual, students, scheme) == {}
    assert manual.read_text().splitlines() == ["id,name,why", "s1,Ann,"]
    manual.write_text("id,name,why\ns1,Ann,3\n")
    with pytest.raises(ValueError, match="manual: 's1', why: 3.0 is outside 0..2.0"):
        marks.read_manual(manual, students, scheme)
    with pytest.raises(ValueError, match="format must be one of"):
        marks.gradebook_rows(students, {}, "blackboard", "Ch 1")


def test_cli_names_bad_arguments(tmp_path, capsys):
    out = str(tmp_path / "r.csv")
    assert cli.main(["grade", "--out", out, "--source", "x.ipynb"]) == 2
    assert "both --source" in capsys.readouterr().err
    assert cli.main(["grade", "--out", out]) == 2
    assert "give SUBMISSION" in capsys.readouterr().err
    roster = ck.write_class(tmp_path, {"a": ck.submission()})
    source = ck.write_source(tmp_path)
    assert (
        cli.main(["grade", "--out", out, "--source", str(source), "--roster", str(roster), "--workers", "0"])
        == 2
    )
    assert "workers must be" in capsys.readouterr().err
    assert (
        cli.main(["grade", "--out", out, "--source", str(source), "--roster", str(roster), "--merge", "zed"])
        == 2
    )
    assert "merge: id(s) ['zed'] are not in the roster" in capsys.readouterr().err


# --- what students get ----------------------------------------------------------------------------
@pytest.mark.slow
def test_the_wheel_holds_no_answer_key_or_hidden_test(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(ROOT),
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("digitlab-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        text = "\n".join(z.read(n).decode("utf-8", "replace") for n in names if n.endswith(".py"))
    assert "digitlab/grading/judge.py" in names and "digitlab/exercises/ch01.py" in names
    assert not [n for n in names if "hidden" in n or "sketches" in n or n.endswith(".ipynb")]
    assert "TESTS = {" not in text and "def stable_softmax(answer, rng)" not in text
    sketches = (ROOT / "grading" / "sketches.toml").read_text(encoding="utf-8")
    assert "int((y_test == 7).sum())" in sketches and "int((y_test == 7).sum())" not in text


def test_course_extension_removes_solution_cells(monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import course_edition
    finally:
        sys.path.remove(str(ROOT / "tools"))
    nb = nbformat.writes(ck.source_chapter())
    tagged = json.loads(course_edition.remove_solutions(nb))
    removed = [c["id"] for c in tagged["cells"] if "remove-cell" in c["metadata"].get("tags", [])]
    assert removed == ["a1", "a2", "a3"]

    class App:
        class env:
            doc2path = staticmethod(lambda name: f"{name}.ipynb")

    source = [nb]
    course_edition.on_source_read(App, "book/chapter", source)
    assert source == [nb]  # not a course build: unchanged
    monkeypatch.setenv("DIGITLAB_COURSE", "1")
    course_edition.on_source_read(App, "book/chapter", source)
    assert "remove-cell" in source[0]


@pytest.mark.slow
def test_make_book_course_builds_a_site_without_solutions(tmp_path):
    from test_build import VENV, make_throwaway_book

    book = make_throwaway_book(tmp_path, failing=False)
    nb = json.loads((book / "book" / "chapter.ipynb").read_text())
    nb["cells"].append(
        {
            "id": "sol",
            "cell_type": "code",
            "execution_count": None,
            "outputs": [],
            "metadata": {"tags": ["solution", "hide-input"]},
            "source": ["secret_answer = 6 * 7"],
        }
    )
    (book / "book" / "chapter.ipynb").write_text(json.dumps(nb))
    stamp = book / "env-stamp"
    stamp.touch()
    done = subprocess.run(
        ["make", "-C", str(book), "book", "COURSE=1", f"VENV={VENV}", f"STAMP={stamp}", f"NODE={stamp}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    page = (book / "_build" / "course" / "_build" / "html" / "book" / "chapter.html").read_text()
    assert "second cell ran" in page and "secret_answer" not in page
    assert "language-switch" not in page  # published alone: no link to a Chinese edition
    assert not (book / "_build" / "html").exists()  # the public site is not touched


@pytest.mark.slow
def test_every_hidden_test_passes_its_answer_key_and_not_the_starter():
    """Each function exercise with a hidden test, judged through the sandbox (no kernel needed)."""
    from digitlab import editions
    from digitlab.grading import isolation, sandbox

    tests = judge.load_hidden(ck.HIDDEN)
    checked = []
    for chapter in sorted((ROOT / "book").glob("0*.ipynb")):
        source = editions.read(chapter)
        starters = restore.restore(source, editions.student_notebook(source), "n")[1]
        functions = {s.exercise for s in starters if "def " in s.answer_source}
        for edition, want in (
            (editions.answer_notebook, "correct"),
            (editions.student_notebook, "unanswered"),
        ):
            restored, slots = restore.restore(source, edition(source), "n")
            for slot in slots:
                if slot.exercise not in tests or slot.exercise not in functions:
                    continue
                with isolation.Workspace() as ws:

                    def run(calls, slot=slot, ws=ws, restored=restored):
                        return sandbox.call(
                            restore.imports_before(restored, slot.answer_index, slot.answer_source),
                            slot.answer_source,
                            slot.expression,
                            calls,
                            env=ws.env(),
                            cwd=ws.work,
                            timeout=120,
                        )

                    verdict = judge.judge(slot.exercise, capture.Function("f"), "", tests, 11, run)
                assert verdict.status == want, (slot.exercise, edition.__name__, verdict.message)
                checked.append(slot.exercise)
    assert len(set(checked)) >= 12, sorted(set(checked))


def test_no_solution_sketch_ships_in_the_package_and_the_answer_key_has_them_all():
    from digitlab import editions, exercises

    names = [
        ex.name for path in editions.chapters(ROOT / "book") for ex in editions.exercises(editions.read(path))
    ]
    for module in sorted({name.split(".")[0] for name in names}):
        assert all(not info["solution"] for info in exercises.catalog(module).values()), module
    sketches = editions.sketches(ROOT / "book")
    assert sorted(sketches) == sorted(names)
    assert f"*Idea:* {sketches['ch00.sevens']}" in editions.answer_key_markdown(ROOT / "book")
