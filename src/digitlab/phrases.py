"""Words a chapter computes and glues into its prose, in a form the translated editions can reuse.

Most glued values are numbers, which read the same in every language. A few are words that depend
on the run: a verdict ("averaging does better here"), "more" or "less", "never". A chapter writes
those as a :class:`Phrase`: an English template with named fields, and the values of the fields
(numbers or names, already formatted)::

    verdict = phrase("The ensemble fixes {fixed} mistakes.", fixed=12)

A phrase *is* the English sentence (a ``str``): printing or gluing it shows the English text.
``runtime.glue`` also glues its template and values as ``<name>__phrase``; the Chinese build
(tools/bilingual.py) and the Chinese Colab edition put the translated template in its place.
``tools/translations.py`` finds every template, the string literal given to ``phrase(...)`` in a
chapter's code, and adds it to the chapter's messages: it is translated and checked for staleness
like any sentence of the prose. So the template must be a literal (not an f-string), and every
variable part must be a field.
"""

from __future__ import annotations

import ast
import json
import re
import string
from collections.abc import Callable, Iterable, Mapping

from digitlab import _validation as check

SUFFIX = "__phrase"  # a phrase glued as NAME also glues its template and values as NAME__phrase
LETTERS = re.compile(r"[^\W\d_]")


def has_words(template: str) -> bool:
    """Whether ``template`` has words outside its fields ("{a}; {b}" has none: nothing to translate)."""
    return bool(LETTERS.search(re.sub(r"\{\w*\}", "", template)))


class Phrase(str):
    """An English sentence that remembers its template and values (see the module docstring)."""

    template: str
    values: dict

    def __new__(cls, template: str, values: Mapping):
        text = super().__new__(cls, template.format(**{k: str(v) for k, v in values.items()}))
        text.template, text.values = template, dict(values)
        return text

    def payload(self) -> dict:
        """Template and values as plain JSON data (nested phrases as payloads)."""
        return {
            "template": self.template,
            "values": {k: v.payload() if isinstance(v, Phrase) else str(v) for k, v in self.values.items()},
        }


def fields(template: str) -> list[str]:
    """The field names of ``template``, in order; a field with a format spec or conversion is an error."""
    found = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise check.InvalidParameterError(
                f"template fields must be plain names such as {{count}} (format the value before passing "
                f"it), got {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}} "
                f"in {template!r}"
            )
        found.append(name)
    return found


def phrase(template: str, **values) -> Phrase:
    """The sentence ``template`` with its fields filled from ``values`` (numbers, names or phrases)."""
    if not isinstance(template, str):
        raise check.InvalidParameterError(f"template must be a string, got {template!r}")
    names = set(fields(template))
    if names != set(values):
        missing, extra = sorted(names - set(values)), sorted(set(values) - names)
        raise check.InvalidParameterError(
            f"values must fill the fields of {template!r} exactly: missing {missing}, unused {extra}"
        )
    for name, value in values.items():
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise check.InvalidParameterError(f"{name} must be a number, a string or a phrase, got {value!r}")
    return Phrase(template, values)


def join(separator: str, parts: Iterable[Phrase | str]) -> Phrase:
    """The ``parts`` joined by ``separator``, as one phrase whose parts are translated one by one."""
    parts = list(parts)
    if LETTERS.search(separator):
        raise check.InvalidParameterError(f"separator must not contain words, got {separator!r}")
    template = separator.join(f"{{p{i}}}" for i in range(len(parts)))
    return Phrase(template, {f"p{i}": part for i, part in enumerate(parts)})


def render(payload: Mapping, gettext: Callable[[str], str]) -> str:
    """The text of a phrase's ``payload`` with every template translated by ``gettext``."""
    template = payload["template"]
    translated = gettext(template) if has_words(template) else template
    if set(fields(translated)) != set(fields(template)):
        translated = template  # a translation that lost or invented a field is not used
    values = {k: render(v, gettext) if isinstance(v, Mapping) else v for k, v in payload["values"].items()}
    return translated.format(**values)


def translate_glue(glue: Mapping[str, dict], gettext: Callable[[str], str]) -> dict[str, dict]:
    """Glue data (name -> mime bundle) with every glued phrase's text in ``gettext``'s language."""
    out = dict(glue)
    for key, bundle in glue.items():
        name = key.removesuffix(SUFFIX)
        if name == key or name not in glue or "text/plain" not in bundle:
            continue
        payload = json.loads(ast.literal_eval(bundle["text/plain"]))
        out[name] = {**glue[name], "text/plain": repr(render(payload, gettext))}
    return out


def templates(source: str, where: str = "code") -> list[str]:
    """The template of every ``phrase(...)`` call in Python ``source`` that needs translating.

    Raises ``ValueError`` naming ``where`` when a template is not a string literal, since a
    translation can only be made for text that is in the source.
    """
    found = []
    code = re.sub(r"^(\s*)[%!].*$", r"\1pass", source, flags=re.M)  # IPython magics and shell lines
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Call):
            continue
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if called != "phrase":
            continue
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            raise ValueError(
                f"{where}, line {node.lineno}: the template of phrase() must be a string literal "
                "(not an f-string or a variable), so that it can be translated"
            )
        if has_words(first.value):
            found.append((node.lineno, node.col_offset, first.value))
    return [template for *_, template in sorted(found)]
