"""``nearortho simulate`` and ``nearortho capacity``: Monte Carlo readout of
sparse superposed features from a frame file or a generated frame."""
from __future__ import annotations

import click

from .output import emit, progress
from .source import frame_source

READOUT_FIELDS = ("m", "n", "l", "trials", "inactive_mean", "inactive_std", "active_error_mean",
                  "active_error_std", "false_positive_rate", "false_negative_rate", "error_rate",
                  "error_rate_se", "snr", "rms_interference", "predicted_std_rms", "predicted_std_jl")


def parse_amplitude(text: str):
    """'boolean', 'uniform:A' or 'levels:K:A' -> the API's amplitude spec."""
    name, *values = text.split(":")
    try:
        if name == "boolean" and not values:
            return "boolean"
        if name == "uniform" and len(values) == 1:
            return ("uniform", float(values[0]))
        if name == "levels" and len(values) == 2:
            return ("levels", int(values[0]), float(values[1]))
    except ValueError:
        pass
    raise ValueError(f"--amplitude must be boolean, uniform:A or levels:K:A, got {text!r}")


def readout_options(command):
    """The trials' amplitudes and the decoder, as simulate and capacity take them."""
    for option in reversed((
            click.option("--amplitude", default="boolean", show_default=True, help="boolean, uniform:A or levels:K:A."),
            click.option("--threshold", type=float, default=0.5, show_default=True,
                         help="Decoder threshold (absolute: it does not scale with A)."),
            click.option("--signed", is_flag=True, help="Random signs on active amplitudes (the decoder cuts |r|)."))):
        command = option(command)
    return command


@click.command("simulate")
@frame_source
@click.option("--l", "l", type=click.IntRange(min=1), required=True, help="Active features per trial (>= 1).")
@click.option("--trials", type=int, default=1000, show_default=True)
@readout_options
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the trials (and of the frame --n/--m generate).")
@click.option("--threads", type=int, default=None, help="Default: OMP_NUM_THREADS or all CPUs.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only (NaN and infinities as null).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def simulate_command(W, l, trials, amplitude, threshold, signed, seed, threads, as_json, quiet):
    """Read l active features out of the frame: noise, error rates, SNR, predictions."""
    from ..simulate import simulate

    with progress(trials, "trials", quiet=quiet) as update:
        result = simulate(W, l, trials=trials, amplitude=parse_amplitude(amplitude), threshold=threshold,
                          signed=signed, seed=seed, threads=threads,
                          progress=lambda done, total: update(done)).to_dict()
    levels = ("level_error_rate",) if result["level_error_rate"] is not None else ()  # levels:K:A only
    emit({k: result[k] for k in READOUT_FIELDS + levels}, as_json=as_json, title="readout")


@click.command("capacity")
@frame_source
@click.option("--error-rate", type=float, default=0.01, show_default=True,
              help="Target rate of the threshold decoder (see --metric).")
@click.option("--metric", type=click.Choice(["error", "balanced", "false_negative", "false_positive"]),
              default="error", show_default=True,
              help="error: (FP + FN) / all readouts; balanced: mean of the FP and FN rates; or either rate alone.")
@click.option("--trials", type=int, default=200, show_default=True)
@readout_options
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Level of l_max_ci.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the trials (and of the frame --n/--m generate).")
@click.option("--threads", type=int, default=None, help="Default: OMP_NUM_THREADS or all CPUs.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only (NaN and infinities as null).")
def capacity_command(W, error_rate, metric, trials, amplitude, threshold, signed, confidence, seed, threads, as_json):
    """Largest number of simultaneously active features at the target error rate."""
    from ..capacity import capacity

    result = capacity(W, error_rate=error_rate, trials=trials, amplitude=parse_amplitude(amplitude),
                      threshold=threshold, signed=signed, confidence=confidence, seed=seed, threads=threads,
                      metric=metric).to_dict()
    result.pop("evaluated", None)
    emit(result, as_json=as_json, title="capacity")
