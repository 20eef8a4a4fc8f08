"""spaCy DocBin (`.spacy`), for `spacy train`: a Doc per item, tokenized by `spacy.blank("xx")`.

Named entities: `doc.ents` from the label's spans (`doc.char_span(start, end, label,
alignment_mode="expand")`; spaCy's character offsets are Python string offsets, code points, as ours
are). Before that, a token is cut wherever a span starts or ends inside it, so every entity keeps its
exact characters ("preTokyo" with a span on "Tokyo" gives the tokens "pre" and "Tokyo"); a span's edge
whitespace is left out. Text classification: `doc.cats` names every project class, 1.0 for the label's
classes and 0.0 for the others. An item without a label that counts (items=all): for entities, a Doc
whose entities are missing (unset: neither entity nor O), which spaCy's NER training leaves out of its
loss; for classes it is left out, as spaCy's exclusive `textcat` would read empty cats as "none".
Each Doc's `user_data` holds `item_id` and `path`.

Memory stays bounded: a DocBin holds its docs in memory until it is written, so every DOCS_PER_FILE docs
go to a file of their own, `part-00001.spacy`, `part-00002.spacy`...; with validation_share > 0 under
`train/` and `validation/`. `spacy train --paths.train <folder>` reads every .spacy file of a folder.
One file alone is delivered as it is. spaCy is the `nlp` extra (`pip install 'tessera[nlp]'`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tessera.core.errors import Invalid
from tessera.formats.conll import Span, cut_tokens, spans_of
from tessera.formats.records import ExportRecord, ExportSource, Tally
from tessera.projects.models import TaskType

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, DocBin

DOCS_PER_FILE = 10_000
LANGUAGE = "xx"  # spaCy's multi-language blank pipeline: its tokenizer only


def _load_spacy() -> Language:
    try:
        import spacy
    except ImportError as error:
        raise Invalid(
            "the spaCy export needs spaCy, which is not installed: pip install 'tessera[nlp]'",
            field="format",
        ) from error
    nlp = spacy.blank(LANGUAGE)
    nlp.max_length = sys.maxsize  # its guard is for parsers' memory; a blank pipeline only tokenizes
    return nlp


class _Parts:
    """DocBins written every DOCS_PER_FILE docs, per split folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pending: dict[Path, DocBin] = {}
        self.numbers: dict[Path, int] = {}

    def add(self, doc: Doc, where: Path) -> None:
        from spacy.tokens import DocBin

        docs = self.pending.setdefault(where, DocBin(store_user_data=True))
        docs.add(doc)
        if len(docs) >= DOCS_PER_FILE:
            self._flush(where)

    def _flush(self, where: Path) -> None:
        number = self.numbers[where] = self.numbers.get(where, 0) + 1
        where.mkdir(parents=True, exist_ok=True)
        self.pending.pop(where).to_disk(where / f"part-{number:05d}.spacy")

    def close(self, wanted: list[Path]) -> None:
        """Write what is pending; a wanted folder without any doc still gets an empty part."""
        from spacy.tokens import DocBin

        for where in wanted:
            if where not in self.numbers:
                self.pending.setdefault(where, DocBin(store_user_data=True))
        for where in list(self.pending):
            self._flush(where)


def write(source: ExportSource, folder: Path, progress: Callable[[int], None]) -> int:
    nlp = _load_spacy()
    split = source.options.validation_share > 0
    wanted = [folder / "train", folder / "validation"] if split else [folder]
    parts = _Parts(folder)
    tally = Tally(progress)
    entities = source.task_type == TaskType.text_ner
    for record in source.records():
        if record.label is None and not entities:
            continue
        doc = _doc(nlp, record, source)
        parts.add(doc, folder / (record.split or "train") if split else folder)
        tally.add()
    parts.close(wanted)
    return tally.count


def _doc(nlp: Language, record: ExportRecord, source: ExportSource) -> Doc:
    text = record.text or ""
    label = record.label
    if source.task_type == TaskType.text_ner:
        spans = spans_of(label, text) if label is not None else []
        doc = _cut_doc(nlp, text, spans)
        if label is not None:
            entities = [
                doc.char_span(start, end, name, alignment_mode="expand") for start, end, name in spans
            ]
            doc.ents = [entity for entity in entities if entity is not None]
    else:
        doc = nlp.make_doc(text)
        if label is not None:
            chosen = set(label.get("classes", []))
            doc.cats = {name: 1.0 if name in chosen else 0.0 for name in source.class_names}
    doc.user_data["item_id"] = record.item_id
    doc.user_data["path"] = record.path
    return doc


def _cut_doc(nlp: Language, text: str, spans: list[Span]) -> Doc:
    """The blank tokenizer's Doc, its tokens cut at every span boundary that falls inside one."""
    from spacy.tokens import Doc

    doc = nlp.make_doc(text)
    if not spans:
        return doc
    spaced = {token.idx + len(token.text) for token in doc if token.whitespace_}
    pieces = cut_tokens([(token.idx, token.idx + len(token.text)) for token in doc], spans)
    words = [text[start:end] for start, end in pieces]
    return Doc(nlp.vocab, words=words, spaces=[end in spaced for _, end in pieces])
