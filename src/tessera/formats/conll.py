"""CoNLL for named entities, streamed: a token per line, `token<TAB>tag`, tags in BIO (IOB2: `B-CLASS`
opens every entity, `I-CLASS` continues it, `O` is outside), a blank line after each document. One item is
one document: no sentence splitting, no `-DOCSTART-` line, no comment lines, so any two-column reader
(conllu with fields=("form", "tag"), flair's ColumnCorpus, a `line.split("\\t")`) reads it as it is.

Tokens (`tokenize`): a word is a Unicode letter, digit or underscore (`\\w`) followed by more of those,
combining marks (category M: Devanagari vowel signs, Arabic harakat...) and zero-width (non-)joiners; a
flag is a pair of regional indicators; any other non-space character is a token of its own, with the
marks, emoji modifiers and zero-width-joined characters that follow it (👨🏻‍🚒 is one token). Whitespace
separates tokens and never belongs to one. Then a token is cut wherever a span starts or ends inside it
("preTokyo" with a span on "Tokyo" gives `pre O` and `Tokyo B-LOC`), so every span covers whole tokens
and none is lost or widened. Offsets are Python string offsets (code points), as labels hold them.

Conventions: whitespace inside a class name becomes `_` in the tag (`B-Org_Name`), so readers that split
a line on any whitespace see two columns. A span's leading and trailing whitespace is left out (it has no
token); a span of only whitespace, or of a class since deleted, is written as `O`. Items without a label
that counts (items=all) are left out: CoNLL cannot say "not labeled", and all-`O` would claim "no entity".
Files: `labels.conll`; with validation_share > 0, `train.conll` and `validation.conll`. Prelabels are not
written (CoNLL has no place for them)."""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

from tessera.formats.records import ExportSource, Tally

FILE_NAME = "labels.conll"
SPLIT_FILES = {"train": "train.conll", "validation": "validation.conll"}
MODIFIERS = "\\U0001F3FB-\\U0001F3FF"  # emoji skin-tone modifiers (category Sk)
JOINERS = "\\u200c\\u200d"  # zero-width non-joiner, zero-width joiner

Span = tuple[int, int, str]  # start, end (exclusive), tag class


@functools.cache
def _token_pattern() -> re.Pattern[str]:
    """The tokenizer's pattern; the combining-mark class comes from this Python's Unicode database."""
    ranges: list[str] = []
    start: int | None = None
    for code in range(sys.maxunicode + 2):
        is_mark = code <= sys.maxunicode and unicodedata.category(chr(code)).startswith("M")
        if is_mark and start is None:
            start = code
        elif not is_mark and start is not None:
            ranges.append(f"\\U{start:08x}-\\U{code - 1:08x}")
            start = None
    marks = "".join(ranges)
    flag = "[\\U0001F1E6-\\U0001F1FF]{2}"
    word = f"\\w[\\w{marks}{JOINERS}]*"
    other = f"[^\\w\\s](?:[{marks}{MODIFIERS}]|\\u200d[^\\w\\s])*"
    return re.compile(f"{flag}|{word}|{other}")


def tokenize(text: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of the text's tokens, before any cut at span boundaries."""
    return [match.span() for match in _token_pattern().finditer(text)]


def tag_class(name: str) -> str:
    return re.sub(r"\s+", "_", name.strip())


def spans_of(label: dict[str, Any], text: str) -> list[Span]:
    """The label's spans, trimmed of edge whitespace, in order; spans with nothing left or no class go."""
    spans: list[Span] = []
    for span in label.get("spans", []):
        start, end, name = int(span["start"]), int(span["end"]), span.get("class")
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end and name:
            spans.append((start, end, name))
    return sorted(spans)


def cut_tokens(tokens: Sequence[tuple[int, int]], spans: Sequence[Span]) -> list[tuple[int, int]]:
    """The tokens cut at every span boundary that falls inside one."""
    cuts = sorted({edge for start, end, _ in spans for edge in (start, end)})
    pieces: list[tuple[int, int]] = []
    for start, end in tokens:
        inner = cuts[bisect_right(cuts, start) : bisect_left(cuts, end)]
        pieces.extend(pairwise([start, *inner, end]))
    return pieces


def bio_lines(text: str, spans: Sequence[Span]) -> Iterator[str]:
    """`token<TAB>tag` for each token of the text."""
    index = 0
    inside: Span | None = None
    for start, end in cut_tokens(tokenize(text), spans):
        while index < len(spans) and spans[index][1] <= start:
            index += 1
        span = spans[index] if index < len(spans) and spans[index][0] <= start else None
        tag = "O" if span is None else f"{'I' if span is inside else 'B'}-{tag_class(span[2])}"
        inside = span
        yield f"{text[start:end]}\t{tag}\n"


def write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int:
    split = source.options.validation_share > 0
    names = SPLIT_FILES if split else {"": FILE_NAME}
    tally = Tally(progress)
    with ExitStack() as files:
        handles: dict[str, IO[str]] = {
            key: files.enter_context((folder / name).open("w", encoding="utf-8", newline="\n"))
            for key, name in names.items()
        }
        for record in source.records():
            if record.label is None or not record.text:
                continue
            handle = handles[record.split or "train"] if split else handles[""]
            lines = list(bio_lines(record.text, spans_of(record.label, record.text)))
            if not lines:
                continue  # only whitespace: an empty document would read as a document break
            handle.writelines(lines)
            handle.write("\n")
            tally.add()
    return tally.count
