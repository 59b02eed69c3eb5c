"""Noise across a chain of layers, with and without error correction (P7)."""
from __future__ import annotations

from ..compound import CORRECTIONS, compound
from .figures import STYLES, legend_below, panels
from .section import Section, Table
from .verdict import Verdict, by_truth

GROWTH = 2.0  # "the noise grows": at least doubled from the first to the last layer


def measure(context) -> dict:
    sizes = context.sizes
    n, m = sizes.noise_n, sizes.noise_m // 2
    runs = {}
    for correction in CORRECTIONS:
        result = compound(n, m, layers=sizes.layers, l=sizes.compound_l, correction=correction,
                          trials=sizes.compound_trials, seed=context.seed)
        runs[correction] = {"noise": [float(x) for x in result.noise_std],
                            "error_rate": [float(x) for x in result.error_rate], "bias": float(result.bias)}
        context.tick(f"compound {correction}")
    return {"n": n, "m": m, "l": sizes.compound_l, "layers": sizes.layers, "kind": "gaussian",
            "trials": sizes.compound_trials, "seed": context.seed, "runs": runs}


def growth(run) -> float:
    return run["noise"][-1] / run["noise"][0]


def judge(results) -> list:
    runs = results["runs"]
    layers = results["layers"]
    raw = growth(runs["none"])
    corrected = {c: growth(r) for c, r in runs.items() if c != "none"}
    best = min(corrected, key=corrected.get)
    return [
        Verdict("P7", "Noise compounds from layer to layer unless something corrects errors",
                "noise grows with depth", f"noise x{raw:.3g} over {layers} layers (no correction)",
                f"growth (at least {GROWTH:g}x)", by_truth(raw >= GROWTH), None,
                f"re-encoding every noisy readout multiplies the noise {raw:.3g}x from layer 1 to {layers}; "
                + "; ".join(f"with {c} {g:.3g}x (final error rate {runs[c]['error_rate'][-1]:.2g})"
                            for c, g in corrected.items())
                + (f". A {best} per layer keeps the noise from compounding here." if corrected[best] < GROWTH
                   else ". None of the corrections tried keeps the noise from compounding.")),
    ]


def method(results) -> str:
    biases = ", ".join(f"{c} (bias {r['bias']:g})" for c, r in results["runs"].items() if c != "none")
    return (f"A chain of {results['layers']} layers, each a fresh Gaussian frame with n = {results['n']}, "
            f"m = {results['m']}; l = {results['l']} features on with amplitude 1, {results['trials']} trials, "
            f"seed {results['seed']}. Each layer encodes its input features, reads all m out (r = W W^T f), "
            f"and passes on either every readout with its noise (none) or a corrected one: {biases}. Noise is "
            f"the standard deviation of the readouts of features that are off in the input; the error rate is "
            f"the threshold decoder's (r > 0.5).")


def table(results) -> Table:
    runs = results["runs"]
    rows = []
    for layer in range(results["layers"]):
        row = {"layer": layer + 1}
        for correction, run in runs.items():
            row[f"noise ({correction})"] = run["noise"][layer]
        for correction, run in runs.items():
            row[f"error rate ({correction})"] = run["error_rate"][layer]
        rows.append(row)
    key = sorted({0, 1, len(rows) - 1})
    return Table(list(rows[0]), rows, [i for i in key if i < len(rows)])


def draw(results, figure) -> None:
    layers = list(range(1, results["layers"] + 1))
    noise_ax, error_ax = panels(figure, 2)
    for correction, run in results["runs"].items():
        style = dict(markersize=7, label=correction, **STYLES[correction])
        noise_ax.plot(layers, run["noise"], **style)
        error_ax.plot(layers, run["error_rate"], **style)
    noise_ax.set(yscale="log", xlabel="layer", ylabel="noise std on off features", title="noise per layer")
    error_ax.set(xlabel="layer", ylabel="decoder error rate", title="threshold decoder error rate per layer")
    error_ax.set_yscale("symlog", linthresh=1e-4)
    error_ax.set_ylim(0, 1)
    for ax in (noise_ax, error_ax):
        ax.set_xticks(layers)
    legend_below(figure)


SECTION = Section(
    key="compound", title="Compounding noise across layers",
    claim=("P7: \"In a multi layer neural network, it's likely that the noise will grow for each layer, unless "
           "this is solved by some error correction mechanism. There is probably a way for NNs to deal with "
           "this, but I currently don't know what this mechanism would be\"; the cost of that correction is "
           "the post's open question."),
    measure=measure, judge=judge, method=method, table=table, draw=draw)
