"""Import readers for text labels (and any task type's labels written as CSV or JSON Lines).

CSV: a header row, then a record a row. The item is named by a `path` column (or `file_name`, `file`,
`image`), a `url` column (or `image_url`, `coco_url`), a `row_index` column for rows of a table file, or
its text (`text`, or the column `text_column` names); the label is in `label_column`, by default `label`
(multi-class: a class name), `labels` (multi-label: a JSON list, or names separated by `;`) or
`annotations` (other task types: a JSON object as the API takes labels) — what Tessera's CSV export
writes. An empty label cell is no label. A `confidence` column is kept on prelabels.

JSON Lines: an object a line, with the same keys; `label` (or `labels`, `annotations`) holds an object as
the API takes labels, a class name, a list of names, or a list of shapes (spans also as doccano's
`[start, end, class]`).

CoNLL: a token a line, its BIO tag in the last column (tab- or space-separated; BIOES/BILOU tags too);
`-DOCSTART-` lines and comments naming the item (`# path = a.txt`, `# url = …`, `# row_index = 3`) begin
a new item, and without either every block of lines between blank lines is an item. An item not named
is found by its text: the tokens must be its text with the whitespace left out. Spans are placed by
finding the tokens in order in the item's text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tessera.core.errors import Invalid
from tessera.formats.import_records import (
    ImportRecord,
    ParsedFile,
    Payload,
    ReadOptions,
    Reference,
    class_names,
    decode_text,
    load_json,
    loose_label,
    lowest,
    numbered_lines,
    shown,
)
from tessera.labels.payload import LabelContext, describe
from tessera.projects.models import TaskType

PATH_KEYS = ("path", "file_name", "filename", "file", "image", "image_path")
URL_KEYS = ("url", "image_url", "coco_url")
ROW_KEYS = ("row_index",)


def _label_keys(task_type: TaskType, chosen: str | None) -> tuple[str, ...]:
    if chosen:
        return (chosen,)
    if task_type.value.endswith("multiclass"):
        return ("label",)
    if task_type.value.endswith("multilabel"):
        return ("labels", "label")
    return ("annotations", "label")


def _first(keys: tuple[str, ...], present: Mapping[str, Any] | list[str]) -> str | None:
    return next((key for key in keys if key in present), None)


def _row_index(value: object, key: str) -> int | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdecimal():
        raise Invalid(f"must be a row number (1 or more), not {shown(value)}", field=key)
    return int(text)


def _reference(values: Mapping[str, Any], text_key: str | None) -> Reference | None:
    """The record's item reference; None when it names no item."""
    path_key, url_key = _first(PATH_KEYS, values), _first(URL_KEYS, values)
    path, url = (values.get(key) or None if key else None for key in (path_key, url_key))
    text = values.get(text_key) if text_key else None
    for key, value in ((path_key, path), (url_key, url), (text_key, text)):
        if value is not None and not isinstance(value, str):
            raise Invalid(f"must be a string, not {describe(value)}", field=key)
    row = _row_index(values.get("row_index"), "row_index")
    if not (path or url or text):
        return None
    return Reference(path=path, url=url, row_index=row, text=text if text else None)


def _blame(record: int, key: str) -> Any:
    """Problems the validation finds in the label ("label.boxes.0.x") named after the column or key."""
    return lambda label_field: (record, key + label_field.removeprefix("label"))


# -- CSV -----------------------------------------------------------------------------------------------


def read_csv(data: bytes, task_type: TaskType, options: ReadOptions) -> ParsedFile:
    parsed = ParsedFile()
    text = decode_text(data, parsed)
    if text is None:
        return parsed
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(rows, [])]
        label_key = _first(_label_keys(task_type, options.label_column), header)
        text_key = options.text_column or ("text" if "text" in header else None)
        if not header or label_key is None:
            wanted = " or ".join(_label_keys(task_type, options.label_column))
            parsed.problem(
                1, None, f"has no {wanted} column for the labels (columns: {', '.join(header) or 'none'})"
            )
        if text_key and text_key not in header:
            parsed.problem(1, None, f"has no {text_key} column (text_column)")
        if not (_first(PATH_KEYS + URL_KEYS, header) or text_key):
            parsed.problem(1, None, "needs a column naming the item: path, url or text")
        if parsed.problems:
            return parsed
        assert label_key is not None
        ended = rows.line_num
        for cells in rows:
            record, ended = ended + 1, rows.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                parsed.problem(record, None, f"has {len(cells)} cells; the header has {len(header)}")
                continue
            _csv_record(record, dict(zip(header, cells, strict=True)), task_type, label_key, text_key, parsed)
    except csv.Error as error:
        parsed.problem(rows.line_num, None, f"is not valid CSV: {error}")
    return parsed


def _csv_record(
    record: int,
    values: dict[str, str],
    task_type: TaskType,
    label_key: str,
    text_key: str | None,
    parsed: ParsedFile,
) -> None:
    try:
        reference = _reference(values, text_key)
        cell = values[label_key].strip()
        if reference is None:
            if cell:
                parsed.problem(record, None, "names no item: its path, url and text are empty")
            return
        if not cell:
            parsed.without_label += 1
            return
        label = _csv_label(cell, task_type, label_key)
    except Invalid as error:
        parsed.invalid(record, error)
        return
    confidence = lowest([_float(values.get("confidence"))])
    parsed.records.append(
        ImportRecord(record, reference, label, class_names(label), confidence, _blame(record, label_key))
    )


def _csv_label(cell: str, task_type: TaskType, key: str) -> Payload:
    if task_type.value.endswith("multiclass"):
        return {"classes": [cell]}
    if task_type.value.endswith("multilabel"):
        if not cell.startswith("["):
            return {"classes": [name.strip() for name in cell.split(";") if name.strip()]}
        return loose_label(task_type.value, _json_cell(cell, key), key)
    value = _json_cell(cell, key)
    if not isinstance(value, Mapping):
        raise Invalid(f"must be a JSON object as the API takes labels, not {describe(value)}", field=key)
    return dict(value)


def _json_cell(cell: str, key: str) -> Any:
    try:
        return json.loads(cell)
    except (json.JSONDecodeError, RecursionError) as error:
        raise Invalid(f"is not valid JSON: {getattr(error, 'msg', error)}", field=key) from None


def _float(value: object) -> float | None:
    try:
        return float(value) if isinstance(value, str) and value.strip() else None
    except ValueError:
        return None


# -- JSON Lines ----------------------------------------------------------------------------------------


def read_jsonl(data: bytes, task_type: TaskType, options: ReadOptions) -> ParsedFile:
    parsed = ParsedFile()
    text = decode_text(data, parsed)
    keys = _label_keys(task_type, options.label_column)
    if options.label_column is None:
        keys = ("label", *keys)
    for record, line in numbered_lines(text or ""):
        if not line.strip():
            continue
        entry = load_json(line, parsed, record)
        if entry is None:
            continue
        try:
            if not isinstance(entry, Mapping):
                raise Invalid(f"must be an object, not {describe(entry)}", field="")
            reference = _reference(entry, options.text_column or "text")
            key = _first(keys, entry)
            value = entry.get(key) if key else None
            if reference is None:
                raise Invalid("names no item: give its path, url or text", field="")
            if value is None:
                parsed.without_label += 1
                continue
            assert key is not None
            label = loose_label(task_type.value, value, key)
        except Invalid as error:
            parsed.invalid(record, error)
            continue
        score = lowest([entry.get("confidence")])
        parsed.records.append(
            ImportRecord(record, reference, label, class_names(label), score, _blame(record, key))
        )
    return parsed


# -- CoNLL ---------------------------------------------------------------------------------------------

REFERENCE_COMMENTS = {"path": "path", "file": "path", "file_name": "path", "url": "url", "row_index": "row"}
OPENING, CONTINUING, CLOSING_ALONE, CLOSING = ("B", "S", "U"), ("I",), (), ("E", "L")


@dataclass
class _Document:
    line: int
    reference: dict[str, str] = field(default_factory=dict)
    tokens: list[tuple[str, int]] = field(default_factory=list)  # (token, line)
    entities: list[list[Any]] = field(default_factory=list)  # [first token, last token, class, open]


def read_conll(data: bytes, _task_type: TaskType, _options: ReadOptions) -> ParsedFile:
    parsed = ParsedFile()
    text = decode_text(data, parsed)
    lines = list(numbered_lines(text or ""))
    named = any(line.strip().startswith("-DOCSTART-") or _is_reference(line) for _, line in lines)
    documents: list[_Document] = []
    current = _Document(1)
    for number, line in lines:
        stripped = line.strip()
        starts = stripped.startswith("-DOCSTART-") or (_is_reference(line) and bool(current.tokens))
        if starts or (not stripped and not named and current.tokens):
            if current.tokens or current.reference:
                documents.append(current)
            current = _Document(number)
        if _is_reference(line):
            _comment(stripped, current)
        elif stripped and not stripped.startswith(("#", "-DOCSTART-")):
            _token(number, line, current, parsed)
    documents.append(current)
    for document in documents:
        if document.tokens:
            _add_document(document, parsed)
        elif document.reference:
            parsed.without_label += 1
    return parsed


def _is_reference(line: str) -> bool:
    key, sep, _ = line.strip().removeprefix("#").partition("=")
    return line.strip().startswith("#") and bool(sep) and key.strip().lower() in REFERENCE_COMMENTS


def _comment(line: str, document: _Document) -> None:
    key, sep, value = line.removeprefix("#").partition("=")
    kind = REFERENCE_COMMENTS.get(key.strip().lower())
    if sep and kind:
        document.reference[kind] = value.strip()


def _token(number: int, line: str, document: _Document, parsed: ParsedFile) -> None:
    columns = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
    columns = [column.strip() for column in columns if column.strip()]
    if len(columns) < 2:
        parsed.problem(number, "tag", "needs a token and its tag (O, B-<class>, I-<class>)")
        return
    token, tag = columns[0], columns[-1]
    index = len(document.tokens)
    document.tokens.append((token, number))
    if tag == "O":
        if document.entities:
            document.entities[-1][3] = False
        return
    prefix, dash, name = tag.partition("-")
    if not dash or not name or prefix not in (*OPENING, *CONTINUING, *CLOSING):
        parsed.problem(number, "tag", f"is not a BIO tag: {shown(tag)} (O, B-<class> or I-<class>)")
        return
    last = document.entities[-1] if document.entities else None
    joins = (
        prefix in (*CONTINUING, *CLOSING)
        and last is not None
        and last[3]
        and last[1] == index - 1
        and last[2] == name
    )
    if joins and last is not None:
        last[1] = index
    else:
        document.entities.append([index, index, name, True])
    document.entities[-1][3] = prefix not in (*CLOSING, "S", "U")


def _add_document(document: _Document, parsed: ParsedFile) -> None:
    reference = Reference(
        path=document.reference.get("path") or None,
        url=document.reference.get("url") or None,
        row_index=int(document.reference["row"]) if document.reference.get("row", "").isdecimal() else None,
        content="".join(token for token, _ in document.tokens),
    )
    tokens, entities = list(document.tokens), [tuple(entity[:3]) for entity in document.entities]
    first_line = tokens[0][1]

    def build(context: LabelContext) -> Payload:
        if context.text is None:
            raise Invalid("names an item that has no text", field="tokens")
        offsets, position = [], 0
        for index, (token, _) in enumerate(tokens):
            found = context.text.find(token, position)
            if found < 0 or context.text[position:found].strip():
                raise Invalid(
                    f"{shown(token)} does not come next in the item's text", field=f"tokens.{index}"
                )
            offsets.append((found, found + len(token)))
            position = found + len(token)
        return {
            "spans": [
                {"start": offsets[first][0], "end": offsets[last][1], "class": name}
                for first, last, name in entities
            ]
        }

    def blame(label_field: str) -> tuple[int | None, str | None]:
        parts = label_field.split(".")
        if parts[0] == "tokens" and len(parts) > 1:
            return tokens[int(parts[1])][1], "token"
        if len(parts) > 2 and parts[1] == "spans" and parts[2].isdecimal() and int(parts[2]) < len(entities):
            return tokens[entities[int(parts[2])][0]][1], "tag"
        return first_line, None

    names = tuple(dict.fromkeys(str(entity[2]) for entity in entities))
    parsed.records.append(ImportRecord(first_line, reference, build, names, None, blame, underscored=True))
