"""``python -m nearortho``: the same command line as ``nearortho``."""
from .cli import main

main()
