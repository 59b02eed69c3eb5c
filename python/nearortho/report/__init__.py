"""``nearortho report``: the post's claims beside measured values."""
from __future__ import annotations

import os
import time

from .. import build_info
from . import sections as parts
from .render import write_html, write_json
from .sizes import SIZES


def run_report(out_dir: str = "report", *, size: str = "default", seed: int = 0, progress=None) -> dict:
    """Measure every claim and write ``out_dir/index.html`` and ``out_dir/results.json``.

    ``size`` is "quick", "default" or "full"; ``progress(message)`` is called after
    each step. Returns the paths written and the seconds taken.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    sizes = SIZES[size]
    try:
        import matplotlib  # noqa: F401  (checked before minutes of measuring)
    except ImportError as error:
        raise ImportError("nearortho report draws figures with matplotlib: pip install 'nearortho[plot]'") from error
    tick = progress or (lambda message: None)
    start = time.perf_counter()
    records = parts.interference_sweep(sizes, seed, tick)
    sections = [
        parts.typical_interference(records),
        parts.worst_case(records),
        parts.readout_noise(sizes, seed, tick),
        parts.capacity_section(sizes, seed, tick),
        parts.levels_section(sizes, seed, tick),
        parts.compound_section(sizes, seed, tick),
    ]
    seconds = time.perf_counter() - start
    header = {"size": size, "seed": seed, "seconds": round(seconds, 1), "build": build_info()}
    os.makedirs(out_dir, exist_ok=True)
    html_path, json_path = os.path.join(out_dir, "index.html"), os.path.join(out_dir, "results.json")
    write_json(json_path, sections, header)
    write_html(html_path, sections, header)
    return {"html": html_path, "json": json_path, "seconds": seconds}
