"""Rendering a memo: its blocks (:class:`sim.report.assemble.Memo`) as markdown (``memo.md``, the
figures linked from ``figures/``) and as one self-contained HTML page (``memo.html``: the PNGs
embedded, so it opens offline).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING

from sim.labels import text

if TYPE_CHECKING:
    from sim.report.assemble import Memo


def _md(x) -> str:
    """Text for markdown: HTML special characters escaped (a scenario named ``<script>`` stays
    text in any markdown viewer, as in ``memo.html``)."""
    return html.escape(str(x), quote=False)


def _md_cell(x) -> str:
    return _md(x).replace("|", "\\|").replace("\n", " ")


def render_md(memo: Memo, out: Path) -> str:
    lines = [f"# {_md(memo.title)}", "", f"*{_md(memo.subtitle)}*", ""]
    for b in memo.blocks:
        kind = b[0]
        if kind == "h2":
            lines += [f"## {_md(b[1])}", ""]
        elif kind == "p":
            lines += [_md(b[1]), ""]
        elif kind == "ul":
            lines += [f"- {_md(x)}" for x in b[1]] + [""]
        elif kind == "table":
            header, rows = b[1], b[2]
            lines.append("| " + " | ".join(map(_md_cell, header)) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(map(_md_cell, r)) + " |" for r in rows]
            lines.append("")
        elif kind == "figure":
            f, n = b[1], b[2]
            rel = f.png.relative_to(out).as_posix()
            title = _md(f.title).replace("[", "\\[").replace("]", "\\]")
            lines += [f"### {text('memo.figure', memo.lang, n=n)}. {title}", "", f"![{title}]({rel})", "",
                      f"{_md(f.caption)} ([SVG]({f.svg.relative_to(out).as_posix()}))", ""]
    return "\n".join(lines)


CSS = """
body { font-family: "DejaVu Sans", "Noto Sans CJK SC", "Noto Sans", Arial, sans-serif; color: #111;
       max-width: 60em; margin: 2em auto; padding: 0 1.5em; line-height: 1.45; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; } h2 { font-size: 1.25em; border-bottom: 1px solid #999;
     padding-bottom: 0.15em; margin-top: 1.6em; }
.subtitle { color: #444; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.88em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.55em; text-align: left; vertical-align: top; }
th { background: #eee; } td { font-variant-numeric: tabular-nums; }
figure { margin: 1.2em 0 1.8em; } figure img { width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.92em; color: #222; margin-top: 0.3em; }
footer, .provenance { font-size: 0.85em; color: #333; }
"""


def render_html(memo: Memo) -> str:
    e = html.escape
    lang = "zh-CN" if memo.lang == "zh" else "en"
    parts = [f"<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">",
             f"<title>{e(memo.title)}</title>", f"<style>{CSS}</style>\n</head>\n<body>",
             f"<h1>{e(memo.title)}</h1>", f"<p class=\"subtitle\">{e(memo.subtitle)}</p>"]
    for b in memo.blocks:
        kind = b[0]
        if kind == "h2":
            parts.append(f"<h2>{e(b[1])}</h2>")
        elif kind == "p":
            parts.append(f"<p>{e(b[1])}</p>")
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in b[1]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{e(str(h))}</th>" for h in b[1])
            body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in b[2])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif kind == "figure":
            f, n = b[1], b[2]
            data = base64.b64encode(f.png.read_bytes()).decode("ascii")
            parts.append(f"<figure id=\"{e(f.key)}\">"
                         f"<img src=\"data:image/png;base64,{data}\" alt=\"{e(f.title)}\">"
                         f"<figcaption><b>{e(text('memo.figure', memo.lang, n=n))}.</b> {e(f.caption)}</figcaption>"
                         "</figure>")
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)
