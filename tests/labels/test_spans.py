"""Named-entity spans: offsets within the text, non-overlapping, sorted, with project classes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.labels.conftest import TEXT, T, refused, span, validate


def test_spans_are_stored_sorted_and_may_touch() -> None:
    payload = {"spans": [span(21, 28, "Dog"), span(0, 12), span(17, 18, "car"), span(12, 13, "car")]}
    assert validate(T.text_ner, payload) == {
        "spans": [
            {"start": 0, "end": 12, "class_id": 1},
            {"start": 12, "end": 13, "class_id": 3},
            {"start": 17, "end": 18, "class_id": 3},  # the emoji: one code point
            {"start": 21, "end": 28, "class_id": 2},
        ]
    }
    assert validate(T.text_ner, {"spans": []}) == {"spans": []}


@pytest.mark.parametrize(
    ("spans", "field", "words"),
    [
        ([span(-1, 3)], "label.spans.0.start", "at least 0"),
        ([span(4, 4)], "label.spans.0.end", "greater than start"),
        ([span(5, 2)], "label.spans.0.end", "greater than start"),
        ([span(30, len(TEXT) + 1)], "label.spans.0.end", f"{len(TEXT)} characters"),
        ([span(10, 20), span(0, 11)], "label.spans.1", "overlaps label.spans.0 (10–20)"),
        ([span(0, 3), span(30, 35), span(2, 5, "dog")], "label.spans.2", "overlaps label.spans.0"),
        ([span(0, 3, "PER")], "label.spans.0.class", "'PER' is not in this project"),
    ],
)
def test_bad_spans_are_refused(spans: list[dict[str, Any]], field: str, words: str) -> None:
    error = refused(T.text_ner, {"spans": spans})
    assert error.field == field
    assert words in error.message


def test_without_the_text_only_the_end_goes_unchecked() -> None:
    assert validate(T.text_ner, {"spans": [span(100, 200)]}, text=None)["spans"][0]["end"] == 200
    assert refused(T.text_ner, {"spans": [span(3, 3)]}, text=None).field == "label.spans.0.end"
