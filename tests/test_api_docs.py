"""What help() shows a user: every public function's docstring names each of its
parameters (an argument a user cannot find in help() is as good as missing)."""
import inspect
import re

import pytest

import nearortho

FUNCTIONS = [name for name in nearortho.__all__
             if inspect.isfunction(getattr(nearortho, name))]


def test_every_public_function_is_checked():
    assert {"interference", "simulate", "capacity", "levels", "compound", "sample_activations"} <= set(FUNCTIONS)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_docstring_names_every_parameter(name):
    function = getattr(nearortho, name)
    doc = inspect.getdoc(function) or ""
    parameters = [p.name for p in inspect.signature(function).parameters.values()
                  if not p.name.startswith("_") and p.kind is not inspect.Parameter.VAR_KEYWORD]
    missing = [p for p in parameters if not re.search(rf"(?<!\w){p}(?!\w)", doc)]
    assert not missing, f"{name}'s docstring does not name {missing}"
