"""Entry point and shared conventions: errors are one line on stderr, no traceback
unless --debug; every subcommand that computes can print JSON with --json."""
from __future__ import annotations

import re
import sys

import click

from .frame_command import frame_command
from .match_command import match_command
from .pairs_command import pairs_command
from .optimize_command import optimize_command
from .report_command import report_command
from .simulate_command import capacity_command, simulate_command
from .stats_command import stats_command
from .theory_command import theory_command


class _Group(click.Group):
    """Turns library errors into one clear line and a non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise  # --help, --version and aborts: RuntimeErrors since click 8.2, but not errors
        except (ValueError, TypeError, OSError, KeyError, MemoryError, ImportError, RuntimeError) as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            message = error.args[0] if isinstance(error, KeyError) and error.args else error
            command = self.get_command(ctx, ctx.invoked_subcommand) if ctx.invoked_subcommand else None
            click.echo(f"error: {_with_option_names(str(message), command)}", err=True)
            sys.exit(1)


def _with_option_names(message: str, command: click.Command | None) -> str:
    """The library names its arguments as Python spells them (error_rate, thresholds);
    on the command line the user typed the option (--error-rate, --threshold), so say
    that. Names the option spells alike (threads) are words a message may also use
    in prose, and stay."""
    for param in command.params if command else ():
        if not isinstance(param, click.Option):
            continue
        option = max(param.opts, key=len)
        if "_" in param.name or param.name != option.lstrip("-"):
            message = re.sub(rf"(?<![\w-]){param.name}(?!\w)", option, message)
    return message


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="nearortho")
@click.pass_context
def cli(ctx, debug):
    """Near-orthogonal frames, their interference, and the costs of superposition.

    `nearortho report` measures the claims of the post "Some costs of superposition"
    (Linda Linsefors, 2024); docs/claims.md in the repository lists them.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


for command in (frame_command, stats_command, pairs_command, match_command, simulate_command, capacity_command,
                theory_command, optimize_command, report_command):
    cli.add_command(command)


def main(argv=None):
    cli.main(args=argv, prog_name="nearortho")
