"""Label imports as the API takes and reports them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ImportProblem(BaseModel):
    record: int | None = Field(
        description="1-based: the line (CSV, JSON Lines, CoNLL) or the position in the file's list (JSON); "
        "null for the whole file."
    )
    field: str | None = Field(description="The field of the record; null for the whole record.")
    reason: str


class ImportOut(BaseModel):
    format: str
    mode: str
    records: int = Field(description="Records of the file that carry a label.")
    matched: int = Field(description="Records matched to an item of the project.")
    imported: int = Field(description="Labels (final mode) or prelabels written.")
    skipped_already_labeled: int = Field(description="Matched items left alone: they already have labels.")
    skipped_out_of_queue: int = Field(
        description="Matched items left alone: removed, or skipped by a labeler and awaiting review."
    )
    without_label: int = Field(description="Records that name an item but carry no label.")
    replaced_prelabels: int = Field(description="Prelabels mode: items whose earlier prelabel was replaced.")
    unmatched: list[str] = Field(description="References no item matched (the first 1,000).")
    ambiguous: list[str] = Field(description="References several items matched equally (the first 1,000).")
    classes_added: list[str] = Field(description="Classes added to the project (missing_classes=add).")
