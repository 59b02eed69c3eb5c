"""Writes the report: index.html (one self-contained file, figures embedded as PNG
data: URIs) and results.json (every measurement; the verdicts follow from it)."""
from __future__ import annotations

import html
import json
import math
import numbers

from .._atomic_file import atomic_path
from .figures import new_figure, png_data_uri, tidy
from .verdict import (EXACT_TOLERANCE, FAILS, HOLDS, ORDER, ORDER_OF_MAGNITUDE, TOLERANCE, UNMEASURED,
                      summary_order)

POST = ("\u201cSome costs of superposition\u201d, Linda Linsefors, LessWrong and the AI Alignment Forum, "
        "March 2024")
_STATUS_CLASS = {HOLDS: "holds", ORDER: "order", FAILS: "fails", UNMEASURED: "unmeasured"}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:72em;margin:1.5em auto;padding:0 1.5em;
 color:#1f2328;line-height:1.45}
h1{margin-bottom:.2em}h2{margin-top:2.2em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
table{border-collapse:collapse;font-size:.88em;margin:.6em 0}
td,th{border:1px solid #d0d7de;padding:.25em .55em;vertical-align:top}
th{background:#f6f8fa;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
table.summary{width:100%}table.summary td{font-size:.95em}
.holds{background:#e6f4ea}.order{background:#fff4d6}.fails{background:#fde2e1}.unmeasured{background:#eef0f3}
td.verdict{font-weight:600;white-space:nowrap}
.holds td.verdict,.verdict-box.holds{border-left:5px solid #2e7d32}
.order td.verdict,.verdict-box.order{border-left:5px solid #b7791f}
.fails td.verdict,.verdict-box.fails{border-left:5px solid #c62828}
.unmeasured td.verdict,.verdict-box.unmeasured{border-left:5px solid #6e7781}
.verdict-box{padding:.45em .8em;margin:.5em 0}
blockquote{margin:.6em 0;padding:.3em 1em;border-left:4px solid #d0d7de;color:#3d444d;background:#fafbfc}
img.figure{width:100%;height:auto;display:block;margin:.6em 0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
pre{background:#f6f8fa;padding:.6em .8em;overflow-x:auto}
details{margin:.3em 0 .8em}summary{cursor:pointer;color:#0969da}
.legend span{padding:.1em .5em;margin-right:.6em}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _cell(value) -> str:
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, numbers.Integral):
        return f"<td class='num'>{value}</td>"
    if isinstance(value, numbers.Real):
        text = f"{value:.4g}" if math.isfinite(value) else str(value)
        return f"<td class='num'>{text}</td>"
    return f"<td>{_e(value)}</td>"


def _table(columns, rows) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(row[c]) for c in columns) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _summary(verdicts_by_section: dict, titles: dict) -> str:
    rows = sorted(((key, v) for key, vs in verdicts_by_section.items() for v in vs),
                  key=lambda item: summary_order(item[1]))
    head = "".join(f"<th>{c}</th>" for c in ("claim", "in plain words", "formula", "measured", "predicted",
                                              "verdict"))
    body = "".join(
        f"<tr class='{_STATUS_CLASS[v.status]}'><td><a href='#{key}' title='{_e(titles[key])}'>{_e(v.claim)}</a></td>"
        f"<td>{_e(v.statement)}</td><td><code>{_e(v.formula)}</code></td><td>{_e(v.measured)}</td>"
        f"<td>{_e(v.predicted)}</td><td class='verdict'>{_e(v.label)}</td></tr>"
        for key, v in rows)
    return f"<table class='summary'><tr>{head}</tr>{body}</table>"


def _verdict_box(verdict) -> str:
    return (f"<div class='verdict-box {_STATUS_CLASS[verdict.status]}'><b>{_e(verdict.claim)} "
            f"{_e(verdict.label)}:</b> {_e(verdict.reason)}</div>")


def _figure(section, results) -> str:
    figure = new_figure()
    section.draw(results, figure)
    tidy(figure)
    return f"<img class='figure' alt='{_e(section.title)}' src='{png_data_uri(figure)}'>"


def _section(section, results, verdicts) -> str:
    table = section.table(results)
    key_rows = [table.rows[i] for i in table.key]
    parts = [f"<h2 id='{_e(section.key)}'>{_e(section.title)}</h2>",
             f"<blockquote>{_e(section.claim)}</blockquote>",
             f"<p><b>How it was measured.</b> {_e(section.method(results))}</p>",
             _figure(section, results)]
    parts += [_verdict_box(v) for v in verdicts]
    if section.notes and section.notes(results):
        parts.append(f"<p>{_e(section.notes(results))}</p>")
    parts.append(_table(table.columns, key_rows))
    if len(key_rows) < len(table.rows):
        parts.append(f"<details><summary>All {len(table.rows)} rows</summary>"
                     f"{_table(table.columns, table.rows)}</details>")
    return "\n".join(parts)


def _reproduce(document: dict) -> str:
    env = document["environment"]
    versions = ", ".join(f"{name} {version}" for name, version in env["versions"].items())
    threads = f"{env['threads']}" + (f" (OMP_NUM_THREADS={env['omp_num_threads']})" if env["omp_num_threads"] else "")
    run = {"command": document["command"], "seed": document["seed"], "size": document["size"],
           "time taken": f"{document['seconds']:.0f} s ("
                         + ", ".join(f"{k} {t:.0f} s" for k, t in document["section_seconds"].items()) + ")",
           "versions": versions, "CPU": f"{env['cpu']} ({env['cpus']} logical CPUs, {env['platform']})",
           "SIMD level (ISA)": env["isa"], "threads": threads,
           "load average at start (1, 5, 15 min)": env["load_average"]}
    return ("<h2 id='reproduce'>Reproduce</h2>"
            f"<pre>{_e(document['command'])}</pre>"
            "<p>The same command gives the same frames and trials on any thread count (each row and each trial "
            "is a function of the seed and its index); the statistics agree up to floating-point rounding. "
            "Every number on this page, and every verdict, is in <code>results.json</code> beside this file. "
            "Times are wall-clock, on a machine shared with the load shown.</p>"
            + _key_value_table(run) + "<p><b>Build</b></p>" + _key_value_table(env["build"]))


def _key_value_table(pairs: dict) -> str:
    return _table(["", "value"], [{"": key, "value": str(value)} for key, value in pairs.items()])


def write_html(path: str, document: dict, sections, verdicts: dict) -> None:
    """``verdicts``: section key -> [Verdict], as the sections' judges give them for ``document``."""
    titles = {s.key: s.title for s in sections}
    present = [s for s in sections if s.key in document["sections"]]
    intro = (f"<p>This report puts the claims of the post {_e(POST)} beside measurements made with nearortho. "
             "<b>P1\u2013P8</b> are the post's claims, <b>C1\u2013C3</b> corrections from its comment thread "
             "(in the nearortho repository: <code>docs/claims.md</code>, with where the post states each). "
             "Notation: <i>n</i> neurons, <i>m</i> features (unit vectors in R<sup>n</sup>), <i>l</i> active "
             "at once.</p>"
             "<p class='legend'>Verdicts are computed from the numbers: "
             f"<span class='holds'>holds</span> within the claim's tolerance ({TOLERANCE:.0%} for the post's "
             f"hand-waved formulas, {EXACT_TOLERANCE:.0%} for exact ones); <span class='order'>holds in order of "
             f"magnitude</span> off by at most {ORDER_OF_MAGNITUDE:g}x, the post's own standard; "
             f"<span class='fails'>fails</span> off by more than {ORDER_OF_MAGNITUDE:g}x or contradicted; "
             "<span class='unmeasured'>not measured</span> where these results cannot decide (the verdict says "
             "why). The factor is the worst over all sizes measured.</p>")
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             "<meta name='viewport' content='width=device-width,initial-scale=1'>"
             "<title>Some costs of superposition, measured (nearortho report)</title>",
             f"<style>{_STYLE}</style></head><body>",
             "<h1>Some costs of superposition, measured</h1>", intro, _summary(verdicts, titles),
             "<p>C4 in the comments (treat l as a property of the data; add a parameter for how dependent "
             "features are) proposes parameters rather than a claim, and is not measured here.</p>"]
    parts += [_section(s, document["sections"][s.key]["results"], verdicts[s.key]) for s in present]
    parts.append(_reproduce(document))
    parts.append("</body></html>")
    with atomic_path(path) as (_, partial), open(partial, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts))


def write_json(path: str, document: dict) -> None:
    with atomic_path(path) as (_, partial), open(partial, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, default=float)
