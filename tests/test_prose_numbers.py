"""Every measured number in the prose comes from the run: a test that keeps hand-typed results out.

Two kinds of number count as measurements:
- a percentage in a sentence with a word of measurement ("accuracy", "scores", "errors", ...);
- a number with a unit of measurement, whatever the sentence: a duration ("12 s", "3 min"), a size
  ("375 KiB"), a count of errors, parameters, weights or MACs, a count of images or digits ("the
  10,000 test images": it changes with the mode), a speed-up ("4×", "three times faster", "four
  times as many", "almost four times chapter 3's", "a fifth faster", "twice as long").
Settings without such a unit ("shift 0.1", "32 filters", "5 epochs"), chapter numbers, years and
sizes such as 28×28 are not looked at, nor are code and formulas.

A measurement may stand in the prose when it is glued from the run (``{glue:text}`name```), cited
from the literature (a ``{cite}`` in the same sentence), asserted by a code cell of the same page
(an ``assert`` line holding that number), inside a dated record (a section listed in
``DATED_RECORDS`` that names the day it was measured), or listed in ``NOT_MEASURED`` with the
reason it is not a measurement.
"""

import re
from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
PERCENT = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?%")
MEASUREMENT = re.compile(r"accura|scor|reach|error|correct|right|wrong", re.IGNORECASE)
_NUMBER = r"(?<![\w.,×-])(?<!hapter )(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
_SPELLED = r"\b(?:two|three|four|five|six|seven|eight|nine|ten|twenty|a hundred)"
_TIMES = (
    r"\s+times\s+(?:faster|slower|quicker|more|fewer|larger|smaller|bigger"
    r"|as\s+(?:fast|slow|many|much|large))\b"
)
_UNIT = (
    r"\s?(?:×|x\b)(?!\s*\d)"  # a ratio, "4×"; not a size such as 28×28
    r"|\s(?:s|ms|µs|min|seconds?|milliseconds?|minutes?|hours?|KiB|MiB|GiB|kB|MB|GB|bytes)\b"
    r"|\s(?:(?:test |training |validation )?(?:errors?|mistakes?)|misclassified|parameters|weights"
    r"|MACs|FLOPs)\b"
    r"|\s(?:[a-z-]+\s){0,2}?(?:images|digits|pictures|examples|trainings)\b"  # "10,000 test images"
)
_RATIO = (
    rf"(?:{_SPELLED}|{_NUMBER})\s+times\b"  # "almost four times chapter 3's", "nine times out of ten"
    r"|\b(?:a|one)\s+(?:half|third|quarter|fifth|tenth)\s+(?:faster|slower|quicker|more|fewer|larger|smaller)\b"
    r"|\b(?:twice|half)\s+as\s+(?:fast|slow|long|many|much|large|small|accurate)\b"
)
UNIT_MEASUREMENT = re.compile(
    rf"{_NUMBER}(?:{_UNIT}|{_TIMES})|{_SPELLED}{_TIMES}|{_SPELLED}\s+trainings\b|{_RATIO}", re.IGNORECASE
)
DATE = re.compile(
    r"\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December) \d{4}\b"
)

# (page, the number as written): why it is not a measurement.
NOT_MEASURED = {
    ("01-perceptron", "ten times smaller"): "the ratio of two learning rates the code sets (0.01 and 0.1)",
    ("01-perceptron", "three times larger"): "the ratio of two learning rates the code sets (0.3 and 0.1)",
    ("02-mlp", "10%"): "the share of training images held out: a setting",
    ("02-mlp", "128 images"): "the batch size: a setting",
    ("03-keras-cnn", "68%"): "the literature's figure, cited in the paragraph above and measured against",
    ("03-keras-cnn", "20,000 training images"): "how much data the exercise asks for: a setting",
    ("04-pytorch-cnn", "10,000 training images"): "the budget Exercise 4.4 sets: a setting",
    ("04-pytorch-cnn", "99%"): "the target whose time is measured",
    ("04-training-fast", "99%"): "the target whose time is measured",
    ("05-evaluation", "eight times"): "the trainings a cross-validation would need: a setting",
    ("05-evaluation", "100%"): "what a normalised row sums to, by definition",
    ("05-evaluation", "97%"): "an example of a claim a calibrated model keeps",
    ("05-evaluation", "98%"): "the coverage chosen for the example: a setting",
    ("05-evaluation", "55%"): "an example confidence",
    ("05-evaluation", "99.9%"): "an example confidence",
    ("06-augmentation", "95%"): "the confidence level of the interval Exercise 6.4 asks for: a setting",
    ("07-going-further", "10%"): "the augmentation's range: a setting",
    ("07-going-further", "90%"): "the label-smoothing target: a setting",
    ("08-your-handwriting", "30%"): "the denoising threshold: a setting",
    ("08-your-handwriting", "5%"): "the speck-size threshold: a setting",
    ("08-your-handwriting", "601 weights"): "the name of a standard, ITU-R BT.601, and its luma weights",
    ("results", "95%"): "the confidence level of the intervals: a setting",
    ("setup", "1,000 test images"): "quick mode's test subset, `data.QUICK_TEST`: a setting",
    ("setup", "4 GB"): "the disk to plan for, rounded up: a requirement, not a result of the book's run",
}
# (page, section heading): a record of one measured run that says the day it was measured (checked).
DATED_RECORDS = {
    ("instructors", "Feedback runs (not for marks)"): "the grader's own timing on a named machine, dated",
    ("instructors", "How long each chapter takes"): "build times of one dated run on a named machine; the "
    "page's generated execution table gives the reader's own build",
}


def sections(page: Path) -> list[tuple[str, str]]:
    """``(heading, markdown)`` pairs of the page: each markdown cell or ``##`` section under its heading."""
    if page.suffix == ".ipynb":
        texts = [c.source for c in nbformat.read(page, as_version=4).cells if c.cell_type == "markdown"]
    else:
        texts = [page.read_text(encoding="utf-8")]
    found, heading = [], ""
    for text in texts:
        for part in re.split(r"(?m)^(?=#{1,3} )", text):
            title = re.match(r"#{1,3} (.*)", part)
            heading = title.group(1).strip() if title else heading
            found.append((heading, part))
    return found


def clean(text: str) -> str:
    """Markdown with glued values, roles, inline code, code blocks and maths taken out."""
    text = re.sub(r"```.*?```|\$\$.*?\$\$|\$[^$\n]*\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"\{glue(?::\w+)?\}`[^`]*`", "GLUED", text)
    text = re.sub(r"\{cite(?::\w+)?\}`[^`]*`", "{cite}", text)
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", "ROLE", text)
    return re.sub(r"`[^`]*`", "CODE", text)


def prose(page: Path) -> list[str]:
    """The page's prose, cleaned, without its dated records."""
    return [clean(text) for heading, text in sections(page) if (page.stem, heading) not in DATED_RECORDS]


def asserted_numbers(page: Path) -> set[str]:
    """Numbers written in the ``assert`` lines of the page's code cells, without separators."""
    if page.suffix != ".ipynb":
        return set()
    lines = [
        line
        for c in nbformat.read(page, as_version=4).cells
        if c.cell_type == "code"
        for line in c.source.splitlines()
        if "assert" in line
    ]
    return {n.replace("_", "") for line in lines for n in re.findall(r"\d[\d_]*(?:\.\d+)?", line)}


def typed_measurements(page: Path) -> list[str]:
    """Measurements in the prose that are neither glued, cited, asserted, dated nor listed as settings."""
    asserted, found = asserted_numbers(page), []
    for text in prose(page):
        for sentence in re.split(r"(?<=[.!?])\s+|\n\n", text):
            if "{cite" in sentence:
                continue
            numbers = [(m.group(0), True) for m in UNIT_MEASUREMENT.finditer(sentence)]
            if MEASUREMENT.search(sentence):
                numbers += [(n, False) for n in PERCENT.findall(sentence)]
            for number, may_be_asserted in numbers:
                written = " ".join(number.split()).replace(" %", "%")
                digits = re.match(r"[\d,.]*", written).group(0).replace(",", "").rstrip(".")
                if (page.stem, written) in NOT_MEASURED or (
                    may_be_asserted and digits and digits in asserted
                ):
                    continue
                found.append(f"{number!r} in: {' '.join(sentence.split())[:140]}")
    return found


PAGES = sorted([*BOOK.glob("*.ipynb"), *BOOK.glob("*.md")])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_hand_typed_result_in_the_prose(page):
    found = typed_measurements(page)
    assert not found, (
        f"{page.name} states results typed by hand; glue them from the run, assert them in the "
        "code next to them, cite them, or (for a setting) list them in NOT_MEASURED with the "
        "reason:\n" + "\n".join(found)
    )


def test_every_listed_exception_still_exists():
    """An entry of NOT_MEASURED whose number left the page is removed, so the list stays short."""
    for page, number in NOT_MEASURED:
        path = next(BOOK.glob(f"{page}.*"))
        assert number in " ".join(" ".join(t.split()) for t in prose(path)), (
            f"{page}: {number} is listed in NOT_MEASURED but no longer in the prose"
        )


def test_every_dated_record_names_its_day():
    for page, heading in DATED_RECORDS:
        texts = [text for title, text in sections(next(BOOK.glob(f"{page}.*"))) if title == heading]
        assert texts, f"{page}: no section {heading!r} (listed in DATED_RECORDS)"
        assert all(DATE.search(" ".join(t.split())) for t in texts), f"{page}: {heading!r} does not say when"


def check(tmp_path, text: str) -> list[str]:
    page = tmp_path / "99-example.md"
    page.write_text(text, encoding="utf-8")
    return typed_measurements(page)


def test_the_rule_catches_a_typed_accuracy(tmp_path):
    assert check(
        tmp_path, "The network reaches 99.2% test accuracy.\n\nIt was glued: {glue:text}`acc` accuracy.\n"
    ) == ["'99.2%' in: The network reaches 99.2% test accuracy."]
    assert (
        check(
            tmp_path, "Dropout zeroes 30% of the features. LeNet reached 99.05% {cite}`lecun1998gradient`.\n"
        )
        == []
    )


@pytest.mark.parametrize(
    ("text", "caught"),
    [
        ("One epoch takes 12.5 s on this machine.", "12.5 s"),
        ("The chapter ran for 3 minutes.", "3 minutes"),
        ("The convnet makes 87 errors on the test set.", "87 errors"),
        ("It has 1,199,882 parameters.", "1,199,882 parameters"),
        ("The fast path is 4.2× faster.", "4.2×"),
        ("Slicing tensors is three times faster than the DataLoader.", "three times faster"),
        ("The Keras model has about four times as many parameters.", "four times as many"),
        ("The saved file holds 375 KiB.", "375 KiB"),
        ("The best model scores well on the 10,000 test images.", "10,000 test images"),
        ("Now the model reads all 1,797 digits both ways.", "1,797 digits"),
        ("The network has many parameters, almost four times chapter 3's.", "four times"),
        ("It trained these networks about a fifth faster.", "a fifth faster"),
        ("Members trained twice as long made the committee no better.", "twice as long"),
        ("So two trainings fit in a few minutes.", "two trainings"),
    ],
)
def test_the_rule_catches_typed_measurements(tmp_path, text, caught):
    assert check(tmp_path, text + "\n") == [f"{caught!r} in: {text}"]
    assert check(tmp_path, text.replace(caught, "{glue:text}`value`") + "\n") == []


@pytest.mark.parametrize(
    "text",
    [
        "Shift the digits by 0.1 of the image and rotate them by 10 degrees.",
        "Chapter 3 built it in 1998 with 32 filters of 3×3 on 28×28 images, for 5 epochs.",
        "Each 5×5×32 kernel sees 2×2 pooled maps.",
        "The curve is drawn in chapter 5, section 2.",
    ],
)
def test_settings_sizes_and_years_are_not_measurements(tmp_path, text):
    assert check(tmp_path, text + "\n") == []


def test_a_number_asserted_by_the_code_may_stand(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("The classic convnet has 93,322 parameters and 1,234 weights."),
            nbformat.v4.new_code_cell("assert model.count_params() == 93_322"),
        ]
    )
    page = tmp_path / "99-example.ipynb"
    nbformat.write(nb, page)
    assert typed_measurements(page) == [
        "'1,234 weights' in: The classic convnet has 93,322 parameters and 1,234 weights."
    ]
