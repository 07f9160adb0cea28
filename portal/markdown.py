"""Markdown that ops write (tutorials, the join terms) as safe HTML: "commonmark" with
HTML off, so raw HTML is shown as text, never as markup, and markdown-it's link
validation drops javascript:/vbscript:/data: URLs."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def render_markdown(text: str) -> Markup:
    return Markup(_markdown.render(text))  # noqa: S704 - html is off: the output is safe
