"""Phrases: words glued into the prose that the translated editions replace (digitlab.phrases)."""

from __future__ import annotations

import ast
import json
import sys
import types

import pytest

from digitlab import phrases, runtime
from digitlab.phrases import phrase

ZH = {
    "The ensemble fixes {fixed} mistakes.": "集成模型纠正了 {fixed} 个错误。",
    "helps on {sets}": "在 {sets} 上有帮助",
    "hurts on {sets}": "在 {sets} 上有害",
    "lost a field {n}": "丢了字段",
}


def test_a_phrase_is_its_english_text_and_keeps_template_and_values():
    said = phrase("The ensemble fixes {fixed} mistakes.", fixed=12)
    assert said == "The ensemble fixes 12 mistakes." and isinstance(said, str)
    assert said.payload() == {"template": "The ensemble fixes {fixed} mistakes.", "values": {"fixed": "12"}}


@pytest.mark.parametrize(
    "template, values, message",
    [
        ("accuracy {acc:.2%}", {"acc": 0.5}, "template fields must be plain names"),
        ("accuracy {acc!r}", {"acc": 0.5}, "template fields must be plain names"),
        ("accuracy {acc}", {}, "missing ['acc']"),
        ("accuracy {acc}", {"acc": 1, "extra": 2}, "unused ['extra']"),
        ("accuracy {acc}", {"acc": [1]}, "acc must be a number, a string or a phrase"),
        ("accuracy {acc}", {"acc": True}, "acc must be a number, a string or a phrase"),
        (3, {}, "template must be a string"),
    ],
)
def test_bad_phrases_are_refused_with_the_reason(template, values, message):
    with pytest.raises(ValueError) as raised:
        phrase(template, **values)
    assert message in str(raised.value)


def test_render_translates_nested_parts_and_keeps_english_where_a_translation_is_broken():
    joined = phrases.join(
        "; ", [phrase("helps on {sets}", sets="noise"), phrase("hurts on {sets}", sets="elastic")]
    )
    assert joined == "helps on noise; hurts on elastic"
    assert phrases.render(joined.payload(), lambda t: ZH.get(t, t)) == "在 noise 上有帮助; 在 elastic 上有害"
    broken = phrase("lost a field {n}", n=3)  # its translation dropped {n}: the English is kept
    assert phrases.render(broken.payload(), lambda t: ZH.get(t, t)) == "lost a field 3"
    with pytest.raises(ValueError, match="separator must not contain words"):
        phrases.join(" and ", [])


def test_translate_glue_replaces_only_glued_phrases():
    said = phrase("The ensemble fixes {fixed} mistakes.", fixed=4)
    glue = {
        "verdict": {"text/plain": repr(str(said))},
        "verdict" + phrases.SUFFIX: {"text/plain": repr(json.dumps(said.payload()))},
        "acc": {"text/plain": "'99.1%'"},
    }
    out = phrases.translate_glue(glue, lambda t: ZH.get(t, t))
    assert ast.literal_eval(out["verdict"]["text/plain"]) == "集成模型纠正了 4 个错误。"
    assert out["acc"] == glue["acc"] and glue["verdict"]["text/plain"] == repr(str(said))


def test_templates_are_found_in_code_and_must_be_literals():
    code = (
        "%matplotlib inline\n"
        "if x:\n    !echo hi\n"
        'v = phrase("more") if a else runtime.phrase("the gap is {gap}", gap=g)\n'
        'w = phrase("{a}; {b}", a=1, b=2)\n'
    )
    assert phrases.templates(code) == ["more", "the gap is {gap}"]
    with pytest.raises(
        ValueError, match="cell 4, line 1: the template of phrase\\(\\) must be a string literal"
    ):
        phrases.templates('phrase(f"gap {g}")', where="cell 4")


def test_glue_also_glues_a_phrase_template(monkeypatch):
    glued = []
    monkeypatch.setitem(
        sys.modules, "myst_nb", types.SimpleNamespace(glue=lambda n, v, display: glued.append((n, v)))
    )
    runtime.glue("verdict", phrase("{n} million", n="2.3"))
    runtime.glue("plain", "2.3")
    assert [n for n, _ in glued] == ["verdict", "verdict__phrase", "plain"]
    assert json.loads(glued[1][1]) == {"template": "{n} million", "values": {"n": "2.3"}}
