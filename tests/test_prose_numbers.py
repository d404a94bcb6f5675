"""Every measured number in the prose comes from the run: a test that keeps hand-typed results out.

A chapter's markdown may state a percentage next to a word of measurement ("accuracy", "scores",
"errors", ...) only when the number is glued from the run (``{glue:text}`name```), cited from the
literature (a ``{cite}`` in the same sentence), or listed below as a setting or an example, with
the reason it is not a measurement. Sizes such as 28×28, code and formulas are not looked at.
"""

import re
from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
PERCENT = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?%")
MEASUREMENT = re.compile(r"accura|scor|reach|error|correct|right|wrong", re.IGNORECASE)
# (page, the number as written): why it is not a measurement.
NOT_MEASURED = {
    ("02-mlp", "10%"): "the share of training images held out: a setting",
    ("03-keras-cnn", "68%"): "the literature's figure, cited in the paragraph above and measured against",
    ("04-pytorch-cnn", "99%"): "the target whose time is measured",
    ("04-training-fast", "99%"): "the target whose time is measured",
    ("05-evaluation", "100%"): "what a normalised row sums to, by definition",
    ("05-evaluation", "97%"): "an example of a claim a calibrated model keeps",
    ("05-evaluation", "98%"): "the coverage chosen for the example: a setting",
    ("05-evaluation", "55%"): "an example confidence",
    ("05-evaluation", "99.9%"): "an example confidence",
    ("07-going-further", "10%"): "the augmentation's range: a setting",
    ("07-going-further", "90%"): "the label-smoothing target: a setting",
    ("08-your-handwriting", "30%"): "the denoising threshold: a setting",
    ("08-your-handwriting", "5%"): "the speck-size threshold: a setting",
}


def prose(page: Path) -> list[str]:
    """The page's prose with glued values, inline code, code blocks and maths taken out."""
    if page.suffix == ".ipynb":
        texts = [c.source for c in nbformat.read(page, as_version=4).cells if c.cell_type == "markdown"]
    else:
        texts = [page.read_text(encoding="utf-8")]
    cleaned = []
    for text in texts:
        text = re.sub(r"```.*?```|\$\$.*?\$\$|\$[^$\n]*\$", " ", text, flags=re.DOTALL)
        text = re.sub(r"\{glue(?::\w+)?\}`[^`]*`", "GLUED", text)
        text = re.sub(r"\{cite(?::\w+)?\}`[^`]*`", "{cite}", text)
        text = re.sub(r"\{[\w:-]+\}`[^`]*`", "ROLE", text)
        cleaned.append(re.sub(r"`[^`]*`", "CODE", text))
    return cleaned


def typed_measurements(page: Path) -> list[str]:
    """Percentages beside a word of measurement that are neither glued, cited nor listed as settings."""
    found = []
    for text in prose(page):
        for sentence in re.split(r"(?<=[.!?])\s+|\n\n", text):
            if "{cite" in sentence or not MEASUREMENT.search(sentence):
                continue
            for number in PERCENT.findall(sentence):
                if (page.stem, number.replace(" ", "")) not in NOT_MEASURED:
                    found.append(f"{number!r} in: {' '.join(sentence.split())[:140]}")
    return found


PAGES = sorted([*BOOK.glob("*.ipynb"), *BOOK.glob("*.md")])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_hand_typed_result_in_the_prose(page):
    found = typed_measurements(page)
    assert not found, (f"{page.name} states results typed by hand; glue them from the run, cite them, or "
                       "(for a setting) list them in NOT_MEASURED with the reason:\n" + "\n".join(found))


def test_every_listed_exception_still_exists():
    """An entry of NOT_MEASURED whose number left the page is removed, so the list stays short."""
    for page, number in NOT_MEASURED:
        texts = " ".join(prose(BOOK / f"{page}.ipynb"))
        assert number in texts, f"{page}: {number} is listed in NOT_MEASURED but no longer in the prose"


def test_the_rule_catches_a_typed_accuracy(tmp_path):
    page = tmp_path / "99-example.md"
    page.write_text("The network reaches 99.2% test accuracy.\n\nIt was glued: {glue:text}`acc` accuracy.\n")
    assert typed_measurements(page) == ["'99.2%' in: The network reaches 99.2% test accuracy."]
    page.write_text("Dropout zeroes 30% of the features. LeNet reached 99.05% {cite}`lecun1998gradient`.\n")
    assert typed_measurements(page) == []
