"""The ``nearortho`` command line: one click group, one module per subcommand."""
from .main import main

__all__ = ["main"]
