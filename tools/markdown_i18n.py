"""MyST text translated block by block with a gettext catalogue's messages (tools/translations.py).

Sphinx extracts one message per heading, paragraph, list item and quote; the translated editions
(the Chinese Colab edition, the notebooks the Chinese site reads) put each translation back in the
same place. Code blocks stay as they are; the text inside a directive is translated the same way.
"""

from __future__ import annotations

import re

FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})")
HEADING = re.compile(r"^(#{1,6}\s+)(.*?)\s*$")
ITEM = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)(.*)$")
QUOTE = re.compile(r"^(>\s?)(.*)$")


def translate_markdown(text: str, messages: dict[str, str]) -> str:
    """MyST text with each heading, paragraph, list item and quote that has a translation in
    ``messages`` (msgid -> msgstr, as Sphinx extracts them) replaced by it. Code blocks are kept;
    the text inside a directive (a note, a figure caption) is translated the same way."""
    lines, out, block = text.split("\n"), [], []
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            if lines[i].strip():
                block.append(lines[i])
            else:
                out += translate_block(block, messages) + [lines[i]]
                block = []
            i += 1
            continue
        out += translate_block(block, messages)
        block, fence = [], opened.group(1)
        end = next((j for j in range(i + 1, len(lines)) if _closes(lines[j], fence)), len(lines))
        body = lines[i + 1 : end]
        if lines[i].strip()[len(fence) :].lstrip().startswith("{"):  # a directive
            options = [line for line in body if line.startswith(":") and not line.startswith(fence)]
            options = options if body[: len(options)] == options else []
            body = options + translate_markdown("\n".join(body[len(options) :]), messages).split("\n")
        out += [lines[i], *body, *lines[end : end + 1]]
        i = end + 1
    return "\n".join(out + translate_block(block, messages))


def _closes(line: str, fence: str) -> bool:
    closing = line.strip()
    return bool(closing) and set(closing) == {fence[0]} and len(closing) >= len(fence)


def translate_block(lines: list[str], messages: dict[str, str]) -> list[str]:
    """One block of text lines: a heading, a paragraph, a list (maybe after a paragraph), a quote."""
    if not lines:
        return []
    heading = HEADING.match(lines[0])
    if len(lines) == 1 and heading:
        return [heading.group(1) + messages.get(heading.group(2), heading.group(2))]
    first_item = next((i for i, line in enumerate(lines) if ITEM.match(line)), None)
    if first_item:  # a paragraph that runs straight into a list
        return translate_block(lines[:first_item], messages) + translate_block(lines[first_item:], messages)
    if first_item == 0:
        items: list[list[str]] = []
        for line in lines:
            if ITEM.match(line) or not items:
                items.append([line])
            else:
                items[-1].append(line)
        out = []
        for item in items:
            marker, first = ITEM.match(item[0]).groups()
            out += _translated(marker, [first, *item[1:]], messages)
        return out
    if all(QUOTE.match(line) for line in lines):
        return _translated("> ", [QUOTE.match(line).group(2) for line in lines], messages)
    return _translated("", lines, messages)


def _translated(prefix: str, lines: list[str], messages: dict[str, str]) -> list[str]:
    msgid = " ".join(line.strip() for line in lines)
    if msgid in messages:
        return [prefix + messages[msgid]]
    return [prefix + lines[0], *lines[1:]]
