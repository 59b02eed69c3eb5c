"""``nearortho report``: the claims of the post "Some costs of superposition" (Linda
Linsefors, LessWrong and the AI Alignment Forum, March 2024) beside measured values.
The claims and where each is measured: docs/claims.md."""
from __future__ import annotations

import os
import time

from .render import write_html, write_json
from .section import Context
from .sections import SECTIONS
from .sizes import SIZES
from .system import environment


def command_line(out_dir: str, size: str, seed: int) -> str:
    """The CLI command that reproduces a report."""
    flag = {"quick": " --quick", "full": " --full"}.get(size, "")
    return f"nearortho report{flag} --seed {seed} --out {out_dir}"


def judge_all(document: dict) -> dict:
    """Every section's verdicts, recomputed from a results document (results.json)."""
    return {section.key: section.judge(document["sections"][section.key]["results"])
            for section in SECTIONS if section.key in document["sections"]}


def run_report(out_dir: str = "nearortho-report", *, size: str = "default", seed: int = 0,
               progress=None) -> dict:
    """Measure every claim and write ``out_dir/index.html`` and ``out_dir/results.json``.

    ``size`` is "quick", "default" or "full"; ``progress(message)`` is called after
    each step. Returns the paths written and the seconds taken.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    try:
        import matplotlib  # noqa: F401  (checked before minutes of measuring)
    except ImportError as error:
        raise ImportError("nearortho report draws figures with matplotlib: pip install 'nearortho[plot]'") from error
    context = Context(SIZES[size], seed, progress or (lambda message: None))
    machine = environment()  # before measuring: the load average is the other work on the machine
    start = time.perf_counter()
    sections, timings, verdicts = {}, {}, {}
    for section in SECTIONS:
        began = time.perf_counter()
        results = section.measure(context)
        timings[section.key] = time.perf_counter() - began
        verdicts[section.key] = section.judge(results)
        sections[section.key] = {"title": section.title, "results": results,
                                 "verdicts": [v.to_dict() for v in verdicts[section.key]]}
    seconds = time.perf_counter() - start
    document = {"command": command_line(out_dir, size, seed), "size": size, "seed": seed,
                "seconds": round(seconds, 1), "section_seconds": {k: round(t, 1) for k, t in timings.items()},
                "environment": machine, "sections": sections}
    os.makedirs(out_dir, exist_ok=True)
    html_path, json_path = os.path.join(out_dir, "index.html"), os.path.join(out_dir, "results.json")
    write_json(json_path, document)
    write_html(html_path, document, SECTIONS, verdicts)
    return {"html": html_path, "json": json_path, "seconds": seconds}
