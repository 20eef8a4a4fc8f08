"""The named-entity tool in Chromium, on two texts with HTML markup and astral characters (emoji, a flag,
a math letter) before their entities: select text (forwards, backwards, across a span, up to the pane's
end; a double-click on a word) and press a number; a selection over a span replaces it; Esc clears the
selection; a click removes a span and Ctrl+Z brings it back; a focused span changes class with a number
and goes with Delete; the draft survives a reload; Enter submits, and the database holds Python's
code-point offsets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tessera.accounts.models import User
from tessera.db.session import Database
from tessera.items.models import Item
from tessera.labels.models import Annotation
from tessera.projects.models import LabelClass, TaskType
from tests.support.labeling import make_team
from tests.support.web import save_screenshot, sign_in

ADA = "🎉 <i>Ada</i> Lovelace met Charles Babbage in London."
TOKYO = "Paris 🇫🇷 is far from 𝒳 Tokyo and Zürich"

# Selects `phrase` in the pane with the DOM's own API: the anchor and focus are text nodes (or, with
# `to_end`, the pane element itself after its last child), in the order given by `backwards`.
SELECT = """([phrase, backwards, toEnd]) => {
  const pane = document.querySelector('.ner-text');
  const walker = document.createTreeWalker(pane, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let text = '';
  while (walker.nextNode()) { nodes.push([walker.currentNode, text.length]); text += walker.currentNode.data; }
  const from = text.indexOf(phrase);
  if (from < 0) throw new Error(`not in the pane: ${phrase}`);
  const at = (index, end) => {
    const [node, base] = nodes.find(([n, b]) => end ? index > b && index <= b + n.data.length : index >= b && index < b + n.data.length);
    return [node, index - base];
  };
  const start = at(from, false);
  const stop = toEnd ? [pane, pane.childNodes.length] : at(from + phrase.length, true);
  const selection = window.getSelection();
  selection.removeAllRanges();
  if (backwards) selection.setBaseAndExtent(...stop, ...start);
  else selection.setBaseAndExtent(...start, ...stop);
  return selection.toString();
}"""

# The middle of a word's box on screen, to double-click it.
WORD_CENTER = """(word) => {
  const pane = document.querySelector('.ner-text');
  const walker = document.createTreeWalker(pane, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const index = walker.currentNode.data.indexOf(word);
    if (index < 0) continue;
    const range = document.createRange();
    range.setStart(walker.currentNode, index);
    range.setEnd(walker.currentNode, index + word.length);
    const box = range.getBoundingClientRect();
    return [box.x + box.width / 2, box.y + box.height / 2];
  }
  throw new Error(`not in the pane: ${word}`);
}"""


def _marks(page: Any) -> list[tuple[str, str]]:
    """The spans shown: (text, class), the class as the superscript tag shows it."""
    shown = page.eval_on_selector_all(
        ".ner-text mark",
        "marks => marks.map(m => [m.textContent, getComputedStyle(m, '::after').content])",
    )
    return [(text, tag.strip('"')) for text, tag in shown]


def _select(page: Any, phrase: str, *, backwards: bool = False, to_end: bool = False) -> None:
    page.evaluate(SELECT, [phrase, backwards, to_end])


def _double_click(page: Any, word: str) -> None:
    x, y = page.evaluate(WORD_CENTER, word)
    page.mouse.dblclick(x, y)
    assert page.evaluate("window.getSelection().toString()") == word


def _label_ada(page: Any) -> None:
    _select(page, " <i>Ada</i> Lovelace ")  # surrounding spaces are trimmed
    page.keyboard.press("1")
    _select(page, "London", backwards=True)
    page.keyboard.press("2")
    _double_click(page, "Babbage")
    page.keyboard.press("1")
    assert _marks(page) == [("<i>Ada</i> Lovelace", "person"), ("Babbage", "person"), ("London", "place")]
    assert page.evaluate("document.querySelector('.ner-text i')") is None  # markup shown as text

    _select(page, "Charles Babbage", backwards=True)  # from inside the Babbage span to the text before it
    page.keyboard.press("1")
    assert [text for text, _ in _marks(page)] == ["<i>Ada</i> Lovelace", "Charles Babbage", "London"]
    assert "Replaced 1 overlapping span" in page.locator(".ner-note").inner_text()

    _select(page, "met")
    page.keyboard.press("Escape")
    assert page.evaluate("window.getSelection().isCollapsed")
    page.keyboard.press("2")  # nothing selected: no span
    assert len(_marks(page)) == 3
    assert "Select some text first" in page.locator(".ner-note").inner_text()

    page.locator(".ner-text mark", has_text="London").click()
    assert [text for text, _ in _marks(page)] == ["<i>Ada</i> Lovelace", "Charles Babbage"]
    page.keyboard.press("Control+z")
    assert _marks(page)[2] == ("London", "place")

    page.locator(".ner-text mark", has_text="Lovelace").focus()
    page.keyboard.press("2")  # a focused span takes the class
    assert _marks(page)[0] == ("<i>Ada</i> Lovelace", "place")
    page.keyboard.press("Delete")
    assert len(_marks(page)) == 2
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    expected = [("<i>Ada</i> Lovelace", "person"), ("Charles Babbage", "person"), ("London", "place")]
    assert _marks(page) == expected

    page.reload()  # the draft is kept in the browser
    page.locator(".ner-text mark").first.wait_for()
    assert _marks(page) == expected
    save_screenshot(page, "ner-tool")


def _label_tokyo(page: Any) -> None:
    _double_click(page, "Tokyo")
    page.keyboard.press("2")
    _select(page, "Zürich", to_end=True)  # the focus is the pane element, after its last child
    page.keyboard.press("2")
    assert _marks(page) == [("Tokyo", "place"), ("Zürich", "place")]


def test_entities_are_selected_labeled_removed_and_saved_as_code_point_offsets(
    page: Any, live_server: str, db: Database
) -> None:
    team = make_team(
        db, items=2, task_type=TaskType.text_ner, labels=("person", "place"), labelers=1,
        texts=[ADA, TOKYO], width=None, height=None,
    )  # fmt: skip
    with db.read() as session:
        username = session.scalars(select(User.username).where(User.id == team.labeler_ids[0])).one()
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/projects/{team.project_id}/label")
    pane = page.locator(".ner-text")
    shown = []
    for _ in range(2):
        pane.wait_for()
        shown.append(pane.text_content())
        if shown[-1] == ADA:
            _label_ada(page)
        else:
            _label_tokyo(page)
        page.keyboard.press("Enter")
        if len(shown) == 1:
            page.wait_for_function(f"document.querySelector('.ner-text')?.textContent !== {shown[0]!r}")
    page.get_by_text("Nothing left for you").wait_for()
    assert sorted(shown) == sorted([ADA, TOKYO])

    with db.read() as session:
        names = {row.id: row.name for row in session.scalars(select(LabelClass))}
        query = select(Item.text, Annotation.payload).join(Item, Item.id == Annotation.item_id)
        saved = {text: payload["spans"] for text, payload in session.execute(query).all()}

    def span(text: str, phrase: str, name: str) -> dict[str, Any]:
        start = text.index(phrase)  # Python's offsets: code points
        return {"start": start, "end": start + len(phrase), "class_id": name}

    def named(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**entry, "class_id": names[entry["class_id"]]} for entry in spans]

    assert named(saved[ADA]) == [
        span(ADA, "<i>Ada</i> Lovelace", "person"),
        span(ADA, "Charles Babbage", "person"),
        span(ADA, "London", "place"),
    ]
    assert named(saved[TOKYO]) == [span(TOKYO, "Tokyo", "place"), span(TOKYO, "Zürich", "place")]
    assert saved[ADA][0]["start"] == 2  # after "🎉 ": one code point, though two UTF-16 units
