"""The page, and one block list that renders to both Markdown and self-contained HTML (so the two never drift).

A report is a list of blocks (:class:`Heading`, :class:`Text`, :class:`Bullets`, :class:`Table`, :class:`Figure`);
:func:`markdown` and :func:`html_body` render the same list. Links inside text use ``[label](#anchor)``, which
both renderings understand.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
         "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
         "font-size:.9rem}th{background:#f3f3f3}img{max-width:100%}.verdict{font-size:1.1rem;padding:.6rem 1rem;"
         "background:#eef6ee;border-left:4px solid #4a4}")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Text:
    text: str
    css: str = ""


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Figure:
    src: str
    alt: str


Block = Heading | Text | Bullets | Table | Figure
_LINK = re.compile(r"\[([^\]]+)\]\((#[\w-]+|[\w.-]+\.html)\)")


def anchor(text: str) -> str:
    """The anchor of a heading: lower case, words joined by hyphens (as GitHub does for Markdown)."""
    return re.sub(r"[^\w]+", "-", text.lower()).strip("-")


def _inline_html(text: str) -> str:
    return _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', html.escape(text, quote=False))


def markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out += [f"{'#' * block.level} {block.text}", ""]
        elif isinstance(block, Text):
            out += [block.text, ""]
        elif isinstance(block, Bullets):
            out += [f"- {item}" for item in block.items] + [""]
        elif isinstance(block, Table):
            out += table(list(block.header), [list(r) for r in block.rows])[0]
        elif isinstance(block, Figure):
            out += [f"![{block.alt}]({block.src})", ""]
    return "\n".join(out)


def html_body(blocks: list[Block]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            name = block.anchor or anchor(block.text)
            out.append(f'<h{block.level} id="{name}">{html.escape(block.text)}</h{block.level}>')
        elif isinstance(block, Text):
            css = f' class="{block.css}"' if block.css else ""
            out.append(f"<p{css}>{_inline_html(block.text)}</p>")
        elif isinstance(block, Bullets):
            out.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            out.append(table(list(block.header), [list(r) for r in block.rows])[1])
        elif isinstance(block, Figure):
            out.append(f'<img src="{html.escape(block.src)}" alt="{html.escape(block.alt)}">')
    return out


def table(header: list[str], rows: list[list[str]]) -> tuple[list[str], str]:
    """A table as Markdown lines (ending with a blank line) and as HTML."""
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(row) + " |" for row in rows] + [""]
    body = ("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
            + "</table>")
    return md, body


def page(title: str, body: list[str]) -> str:
    """A whole HTML page around the body's parts."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}"
            "</style></head><body>" + "\n".join(body) + "</body></html>")
