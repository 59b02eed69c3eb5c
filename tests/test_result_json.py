"""Every result's to_json(): strict JSON that json.loads reads back to the values
of to_dict() (arrays as lists, NaN and infinities as null)."""
import json
import math

import numpy as np
import pytest

import nearortho


def _results():
    W = nearortho.frame(8, 40, seed=1)
    yield "interference", nearortho.interference(W, topk=2)
    yield "simulate", nearortho.simulate(W, 3, trials=50, seed=2)
    yield "simulate l=0 (snr NaN)", nearortho.simulate(W, 0, trials=5, seed=2)
    yield "theory", nearortho.theory(8, 40)
    yield "bounds", nearortho.bounds(8, 40)
    yield "capacity", nearortho.capacity(W, trials=20, seed=3)
    yield "levels", nearortho.levels(W, 2, trials=20, seed=3)
    yield "compound", nearortho.compound(8, 40, layers=2, l=2, trials=20, seed=4)
    yield "optimize (a Bounds inside)", nearortho.optimize(W, max_iter=3)
    yield "surrogate_gradient", nearortho.surrogate_gradient(W, 4)


def _same(decoded, value):
    """decoded (from JSON) holds value (from to_dict) exactly, null for non-finite."""
    if hasattr(value, "to_dict"):  # a result inside a result
        value = value.to_dict()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, dict):
        assert set(decoded) == {str(k) for k in value}
        for k, v in value.items():
            _same(decoded[str(k)], v)
    elif isinstance(value, (list, tuple, np.ndarray)):
        assert len(decoded) == len(value)
        for d, v in zip(decoded, value):
            _same(d, v)
    elif isinstance(value, (float, np.floating)) and not math.isfinite(value):
        assert decoded is None
    elif value is None or isinstance(value, (str, bool, np.bool_)):
        assert decoded == value
    else:
        assert decoded == value and not isinstance(decoded, str)


@pytest.mark.parametrize("name,result", list(_results()), ids=lambda x: x if isinstance(x, str) else "")
def test_to_json_is_strict_json_of_to_dict(name, result):
    text = result.to_json()
    decoded = json.loads(text, parse_constant=lambda c: pytest.fail(f"{name}: {c} is not strict JSON"))
    _same(decoded, result.to_dict())


def test_to_json_passes_options_to_dumps():
    stats = nearortho.bounds(8, 40)
    assert stats.to_json(indent=1).count("\n") > 3
    assert json.loads(stats.to_json(indent=1)) == json.loads(stats.to_json())


def test_non_finite_array_entries_become_null_and_the_rest_exact():
    from nearortho._result import plain

    x = np.array([[np.nan, 1.5], [-np.inf, 2.0 ** -30]], np.float32)
    assert json.loads(json.dumps(plain(x), allow_nan=False)) == [[None, 1.5], [None, 2.0 ** -30]]


def test_match_to_json():
    pytest.importorskip("scipy")
    result = nearortho.match(nearortho.frame(8, 40, seed=1), nearortho.frame(8, 30, seed=2))
    _same(json.loads(result.to_json()), result.to_dict())
