"""Small result objects: dataclasses with ``to_dict()`` and a readable ``repr``."""
from __future__ import annotations

import dataclasses

import numpy as np


class Result:
    """Mixin for dataclass results (numbers, numpy arrays, small dicts)."""

    def to_dict(self) -> dict:
        """Field name -> value (arrays stay numpy arrays)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for key, value in self.to_dict().items():
            lines.append(f"  {key}={_short(value)},")
        return "\n".join(lines) + "\n)"


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
