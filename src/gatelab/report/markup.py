"""The page and the tables every report shares: Markdown and self-contained HTML that opens offline."""

from __future__ import annotations

import html

STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
         "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
         "font-size:.9rem}th{background:#f3f3f3}img{max-width:100%}.verdict{font-size:1.1rem;padding:.6rem 1rem;"
         "background:#eef6ee;border-left:4px solid #4a4}")


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
