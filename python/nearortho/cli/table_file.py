"""Tables people keep: named columns of equal length written as .csv, .npz or
.parquet (through pyarrow, an optional extra)."""
from __future__ import annotations

import os

import numpy as np

from .._atomic_file import atomic_path

TABLE_FORMATS = (".csv", ".npz", ".parquet")


def check_table_path(path: str, option: str) -> str:
    """The format of ``path`` (its suffix), checked before any work is done."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in TABLE_FORMATS:
        raise ValueError(f"{option} must end in one of {', '.join(TABLE_FORMATS)}, got {path!r}")
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as error:
            raise ImportError(f'{option} {path}: parquet needs pyarrow: pip install "nearortho[parquet]"') from error
    return suffix


def write_table(path: str, columns: dict, option: str) -> None:
    """Write ``columns`` (name -> 1-D array); 2-D arrays become name_1, name_2, ... ."""
    suffix = check_table_path(path, option)
    flat = {}
    for name, values in columns.items():
        values = np.asarray(values)
        if values.ndim == 2:
            flat.update({f"{name}_{c + 1}": values[:, c] for c in range(values.shape[1])})
        else:
            flat[name] = values
    with atomic_path(path) as (_, partial):  # a table of a million rows takes seconds to write
        _write(partial, suffix, flat)


def _write(path: str, suffix: str, flat: dict) -> None:
    if suffix == ".npz":
        np.savez(path, **flat)
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(flat), path)
    else:  # shortest lossless text: 9 significant digits for float32, 17 for float64
        digits = {4: "%.9g", 8: "%.17g"}
        formats = [digits[v.dtype.itemsize] if v.dtype.kind == "f" else "%d" for v in flat.values()]
        rows = len(next(iter(flat.values())))
        table = np.empty((rows, len(flat)), dtype=object)
        for c, values in enumerate(flat.values()):
            table[:, c] = values.tolist()
        np.savetxt(path, table, fmt=formats, delimiter=",", header=",".join(flat), comments="")
