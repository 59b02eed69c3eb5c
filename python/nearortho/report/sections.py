"""The report's sections, in page order. To add one: write a module in this package
that ends in ``SECTION = Section(...)`` (see section.py) and list it here."""
from __future__ import annotations

from . import capacity, compound, levels, noise, packing, typical, worst

SECTIONS = (typical.SECTION, worst.SECTION, noise.SECTION, capacity.SECTION, levels.SECTION,
            compound.SECTION, packing.SECTION)
