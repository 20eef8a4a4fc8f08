"""CoNLL and spaCy exports through the API, read back by the tools that consume them: conllu parses the
CoNLL file and seqeval's `get_entities` turns its BIO tags back into exactly the labeled spans (emoji,
punctuation, a span that starts inside a word), and `spacy convert`'s reader finds the same entities;
spaCy's DocBin gives back the entities by character and the classes of text classification. The CoNLL
output is kept as a golden file (TESSERA_UPDATE_GOLDENS=1 rewrites it; look at the diff before keeping
it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, cast

import conllu
import pytest
import spacy
from fastapi.testclient import TestClient
from seqeval.metrics.sequence_labeling import get_entities
from spacy.tokens import DocBin
from spacy.training.converters import conll_ner_to_docs

from tessera.core.errors import Invalid
from tessera.core.settings import Settings
from tessera.db.session import Database
from tessera.formats import spacy_docbin
from tessera.formats.conll import bio_lines, spans_of, tokenize
from tests.support.exports import labeled_project, run_export, unzip

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "formats" / "conll"

TEXTS = {
    "a.txt": "Ana flew to São Paulo 👨🏻‍🚒 yesterday!",
    "b.txt": "Emoji 🇯🇵 then preTokyo, and ACME-Corp.",
    "c.txt": "नमस्ते दुनिया, from Delhi.",
    "d.txt": "NewYork (twice)",
    "e.txt": "Nothing to see here.",
    "f.txt": "Never labeled.",
}
ENTITIES = {  # file → (the span's text, its first occurrence, class)
    "a.txt": [("Ana", "PER"), ("São Paulo", "LOC")],
    "b.txt": [("Tokyo", "LOC"), ("ACME-Corp", "ORG")],  # "Tokyo" starts inside the word "preTokyo"
    "c.txt": [("दुनिया", "LOC"), ("Delhi", "LOC")],
    "d.txt": [("New", "LOC"), ("York", "LOC")],  # adjacent, same class: two entities
    "e.txt": [],  # labeled: no entity
}


def _span(text: str, part: str, class_name: str) -> dict[str, Any]:
    start = text.index(part)
    return {"start": start, "end": start + len(part), "class": class_name}


def _spans(name: str) -> list[tuple[int, int, str]]:
    return [(span["start"], span["end"], span["class"]) for span in _label(name)["spans"]]


def _label(name: str) -> dict[str, Any]:
    return {"spans": [_span(TEXTS[name], part, cls) for part, cls in ENTITIES[name]]}


def _ner_project(client: TestClient, db: Database, settings: Settings) -> Any:
    return labeled_project(
        client, db, settings, task_type="text_ner", classes=["PER", "LOC", "ORG"],
        files=dict(TEXTS), labels={name: _label(name) for name in ENTITIES}, name="Entities",
    )  # fmt: skip


def _matches_golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("TESSERA_UPDATE_GOLDENS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"{path} is missing: run with TESSERA_UPDATE_GOLDENS=1 and check it by eye"
    assert data == path.read_bytes(), f"the export differs from {path}"


def _offsets(text: str, tokens: list[str]) -> list[tuple[int, int]]:
    """Where each token is in the text: tokens come in order, separated by nothing but whitespace."""
    offsets, cursor = [], 0
    for token in tokens:
        start = text.index(token, cursor)
        assert not text[cursor:start].strip(), f"{text[cursor:start]!r} was dropped before {token!r}"
        offsets.append((start, start + len(token)))
        cursor = start + len(token)
    assert not text[cursor:].strip()
    return offsets


def test_a_conll_export_reads_back_to_exactly_the_labeled_spans(
    client: TestClient, db: Database, settings: Settings
) -> None:
    made = _ner_project(client, db, settings)
    export, data = run_export(client, made.admin, made.project_id, "conll", {"items": "all"})
    assert export["file_name"].endswith("-conll.conll") and export["items"] == 5  # f.txt has no label
    labeled = sorted(ENTITIES, key=made.item_ids.__getitem__)  # the export goes by item id
    blocks = dict(zip(labeled, data.decode("utf-8").split("\n\n")[:-1], strict=True))
    # in path order: item ids follow the datastore's listing order, which differs between file systems
    _matches_golden("ner.conll", "".join(f"{blocks[name]}\n\n" for name in sorted(blocks)).encode())

    documents = conllu.parse(data.decode("utf-8"), fields=("form", "tag"))
    for name, document in zip(labeled, documents, strict=True):
        text = TEXTS[name]
        tokens = [token["form"] for token in document]
        offsets = _offsets(text, tokens)
        found = [
            (offsets[first][0], offsets[last][1], kind)
            for kind, first, last in get_entities([token["tag"] for token in document])
        ]
        assert found == _spans(name), name
        assert [text[start:end] for start, end, _ in found] == [part for part, _ in ENTITIES[name]]
    # spaCy's own CoNLL reader (`spacy convert -c ner`): a document per blank-line block, the same entities
    converted = list(conll_ner_to_docs(data.decode("utf-8"), n_sents=1, no_print=True))
    assert [["".join(ent.text.split()) for ent in doc.ents] for doc in converted] == [
        ["".join(part.split()) for part, _ in ENTITIES[name]] for name in labeled
    ]


def test_a_conll_export_with_a_split_writes_train_and_validation_files(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = _ner_project(client, db, settings)
    export, data = run_export(
        client, made.admin, made.project_id, "conll", {"validation_share": 0.5, "seed": 3}
    )
    assert unzip(data, tmp_path) == ["train.conll", "validation.conll"]
    documents = [
        document
        for file_name in ("train.conll", "validation.conll")
        for document in conllu.parse((tmp_path / file_name).read_text("utf-8"), fields=("form", "tag"))
    ]
    assert len(documents) == export["items"] == 5
    assert sorted("".join(token["form"] for token in document) for document in documents) == sorted(
        "".join(TEXTS[name].split()) for name in ENTITIES
    )


@pytest.mark.parametrize(
    "text",
    [
        "a  b\t\nc",
        "x👩‍👩‍👧y 🇫🇷🇩🇪!",
        "\u0301lone mark",
        "e\u0301te\u0301",
        "می‌خواهم ۱۲۳",
        "tab\x0bvt\x1cfs",
        "",
    ],
)
def test_the_tokenizer_puts_every_non_space_character_in_one_token_and_no_space_in_any(text: str) -> None:
    tokens = [text[start:end] for start, end in tokenize(text)]
    assert "".join(tokens) == "".join(character for character in text if not character.isspace())
    assert not any(character.isspace() for token in tokens for character in token)


@pytest.mark.parametrize(
    ("text", "spans", "lines"),
    [
        ("ACME Corp rocks", [(0, 9, "Org Name")], ["ACME\tB-Org_Name", "Corp\tI-Org_Name", "rocks\tO"]),
        ("say  Tokyo ", [(3, 11, "LOC")], ["say\tO", "Tokyo\tB-LOC"]),  # edge whitespace left out
        ("a   b", [(1, 4, "LOC")], ["a\tO", "b\tO"]),  # only whitespace: no token to tag
        ("x-y", [(0, 1, "A"), (1, 3, "A")], ["x\tB-A", "-\tB-A", "y\tI-A"]),
        ("deleted class", [(0, 7, None)], ["deleted\tO", "class\tO"]),
    ],
)
def test_bio_tags_cover_whole_tokens_and_keep_class_names_in_one_column(
    text: str, spans: list[tuple[int, int, str | None]], lines: list[str]
) -> None:
    label = {"spans": [{"start": start, "end": end, "class": cls} for start, end, cls in spans]}
    assert list(bio_lines(text, spans_of(label, text))) == [f"{line}\n" for line in lines]


def _docs(path: Path) -> list[Any]:
    return list(DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab))


def test_a_spacy_export_gives_back_the_entities_by_character(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = _ner_project(client, db, settings)
    export, data = run_export(client, made.admin, made.project_id, "spacy", {"items": "all"})
    assert export["file_name"].endswith("-spacy.spacy") and export["items"] == 6
    (tmp_path / "labels.spacy").write_bytes(data)
    docs = _docs(tmp_path / "labels.spacy")
    in_order = sorted(TEXTS, key=made.item_ids.__getitem__)  # the export goes by item id
    assert [doc.text for doc in docs] == [TEXTS[name] for name in in_order]
    for name, doc in zip(in_order, docs, strict=True):
        assert doc.user_data["path"] == name and doc.user_data["item_id"] == made.item_ids[name]
        if name == "f.txt":  # not labeled: the entity annotation is missing, not "no entity"
            assert [token.ent_iob_ for token in doc] == ["", "", ""]  # Never, labeled, .
            continue
        got = [(ent.text, ent.label_, ent.start_char, ent.end_char) for ent in doc.ents]
        assert got == [(TEXTS[name][start:end], cls, start, end) for start, end, cls in _spans(name)], name
        assert all(token.ent_iob_ in ("B", "I", "O") for token in doc)


def test_a_spacy_export_writes_a_file_every_n_docs(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _ner_project(client, db, settings)
    monkeypatch.setattr(spacy_docbin, "DOCS_PER_FILE", 2)
    _, data = run_export(client, made.admin, made.project_id, "spacy")
    assert unzip(data, tmp_path) == ["part-00001.spacy", "part-00002.spacy", "part-00003.spacy"]
    docs = [doc for part in sorted(tmp_path.glob("*.spacy")) for doc in _docs(part)]
    assert [doc.user_data["path"] for doc in docs] == sorted(ENTITIES, key=made.item_ids.__getitem__)

    _, data = run_export(client, made.admin, made.project_id, "spacy", {"validation_share": 0.5, "seed": 3})
    names = unzip(data, tmp_path / "split")
    assert {name.split("/")[0] for name in names} == {"train", "validation"}
    assert sum(len(_docs(tmp_path / "split" / name)) for name in names) == 5


def test_a_spacy_export_of_text_classes_names_every_class(
    client: TestClient, db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = labeled_project(
        client, db, settings, task_type="text_classification_multilabel", classes=["sports", "politics", "tech"],
        files={"a.txt": "Match report 🏟️", "b.txt": "Chips and votes", "c.txt": "Unlabeled"},
        labels={"a.txt": {"classes": ["sports"]}, "b.txt": {"classes": ["tech", "politics"]}}, name="Topics",
    )  # fmt: skip
    _, data = run_export(client, made.admin, made.project_id, "spacy", {"items": "all"})
    (tmp_path / "topics.spacy").write_bytes(data)
    cats = {doc.user_data["path"]: (doc.text, doc.cats) for doc in _docs(tmp_path / "topics.spacy")}
    assert cats == {
        "a.txt": ("Match report 🏟️", {"sports": 1.0, "politics": 0.0, "tech": 0.0}),
        "b.txt": ("Chips and votes", {"sports": 0.0, "politics": 1.0, "tech": 1.0}),
    }  # c.txt, not labeled, is left out: spaCy's exclusive textcat would read empty cats as "none"


def test_the_spacy_export_without_spacy_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "spacy", None)  # what `import spacy` sees when it is not installed
    with pytest.raises(Invalid, match=r"pip install 'tessera\[nlp\]'"):
        spacy_docbin.write(cast(Any, None), Path("unused"), lambda done: None)
