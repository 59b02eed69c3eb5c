"""Small result objects: dataclasses with ``to_dict()``, ``to_json()`` and a
readable ``repr``. Tests: tests/test_result_json.py."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np


class Result:
    """Mixin for dataclass results (numbers, numpy arrays, small dicts)."""

    def to_dict(self) -> dict:
        """Field name -> value (arrays stay numpy arrays)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def to_json(self, **dumps_options) -> str:
        """Strict JSON text of :meth:`to_dict`: arrays as (nested) lists, numpy
        scalars as numbers, NaN and infinities as null. ``dumps_options`` go to
        :func:`json.dumps` (``indent=1``, for instance)."""
        return json.dumps(plain(self.to_dict()), allow_nan=False, **dumps_options)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for key, value in self.to_dict().items():
            lines.append(f"  {key}={_short(value)},")
        return "\n".join(lines) + "\n)"


def plain(value):
    """JSON-ready values: results and other dataclasses become dicts, numpy scalars
    and arrays Python numbers and lists, and NaN and infinities null (strict JSON
    has no such numbers)."""
    if isinstance(value, Result):
        value = value.to_dict()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind != "O":
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            value = np.where(np.isfinite(value), value, None)  # object array: None for each non-finite
        return value.tolist()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _short(value) -> str:
    if isinstance(value, Result):  # a result inside a result: its fields indented under the field's name
        return repr(value).replace("\n", "\n  ")
    if isinstance(value, np.generic):  # numpy 2 writes np.int64(136)
        value = value.item()
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return np.array2string(value, precision=4, separator=", ")
        return f"array(shape={value.shape}, dtype={value.dtype})"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)
