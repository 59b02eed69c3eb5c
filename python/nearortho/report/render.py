"""Writes the report: index.html (self-contained, figures embedded as PNG) and
results.json (every table and verdict, machine-readable)."""
from __future__ import annotations

import base64
import html
import io
import json
import numbers

_STYLE = """body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;
text-align:right}th{background:#f3f3f3}.verdict{background:#eef6ee;padding:.5em;border-left:4px solid #4a4}
img{max-width:40em}"""


def _cell(value) -> str:
    if isinstance(value, numbers.Integral):
        return str(value)
    if isinstance(value, numbers.Real):
        return f"{value:.4g}"
    return html.escape(str(value))


def _figure_png(section) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100)
    section.plot(figure.add_subplot())
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def write_html(path: str, sections: list, header: dict) -> None:
    parts = [f"<!doctype html><meta charset='utf-8'><title>nearortho report</title><style>{_STYLE}</style>",
             "<h1>Some costs of superposition, measured</h1>",
             "<p>Each part puts a claim of the post (and the corrections from its comments) beside "
             "measurements made with nearortho. " + html.escape(json.dumps(header)) + "</p>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)} <small>({html.escape(section.claims)})</small></h2>")
        parts.append(f"<p class='verdict'>{html.escape(section.verdict)}</p>")
        parts.append(f"<img alt='{html.escape(section.title)}' src='data:image/png;base64,{_figure_png(section)}'>")
        head = "".join(f"<th>{html.escape(c)}</th>" for c in section.columns)
        body = "".join("<tr>" + "".join(f"<td>{_cell(row[c])}</td>" for c in section.columns) + "</tr>"
                       for row in section.rows)
        parts.append(f"<table><tr>{head}</tr>{body}</table>")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts))


def write_json(path: str, sections: list, header: dict) -> None:
    document = dict(header)
    document["sections"] = {s.key: {"title": s.title, "claims": s.claims, "verdict": s.verdict,
                                    "rows": s.rows} for s in sections}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, default=float)
