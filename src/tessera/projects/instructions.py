"""Instructions: Markdown rendered to HTML that cannot run script, or an external http(s) URL."""

from __future__ import annotations

from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

from tessera.core.errors import Invalid

MAX_INSTRUCTIONS_CHARS = 200_000

# CommonMark with tables and strikethrough; raw HTML in the source is shown as text, never passed through.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])


def render_instructions(markdown: str) -> str:
    """Safe HTML for Markdown. nh3 (ammonia) cleans the output too, so no script, handler or
    javascript: URL gets through even if the renderer had a hole."""
    return str(nh3.clean(_markdown.render(markdown), link_rel="noopener noreferrer nofollow"))


def check_instructions(markdown: str | None, url: str | None) -> tuple[str | None, str | None]:
    """The instructions to store: at most one of Markdown text and an http(s) URL."""
    if markdown is not None and url is not None:
        raise Invalid("give Markdown instructions or a URL, not both", field="instructions_url")
    if markdown is not None and len(markdown) > MAX_INSTRUCTIONS_CHARS:
        raise Invalid(f"must be at most {MAX_INSTRUCTIONS_CHARS} characters", field="instructions_markdown")
    if url is not None:
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Invalid("must be an http:// or https:// URL", field="instructions_url")
    return markdown, url
