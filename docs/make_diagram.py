"""Draw the compartments of the flowsim model and the transitions between them.

Writes ``docs/images/compartments.png`` (or the file given as the first argument)::

    python docs/make_diagram.py [OUT.png]

The boxes are the compartments of :mod:`flowsim.core.engine` (every person is in exactly one at
every step); the arrows are the transitions of one step, labelled with the scenario field
that drives them. "route choice" is not a compartment: people pass through it within a step.
"""

from __future__ import annotations

import sys
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

OUT = Path(__file__).resolve().parent / "images" / "compartments.png"

ORIGIN = "#F2E6D0"   # compartments in the origin
ABROAD = "#D6E6F2"   # compartments in a country abroad
QUEUE = "#E5E0F0"    # waiting for a visa decision
CHOICE = "#FFFFFF"   # route choice: a step, not a compartment
EDGE = "#333333"
BACK = "#8C2D04"     # people sent back where they were
OPTIONAL = "#5A5A5A"  # transitions a scenario turns on (hazards 0 by default)

# name: (centre x, centre y, label, colour), in data units of a 20 x 10.6 canvas
BOXES = {
    "never": (2.0, 5.0, "never left\n(in the origin)", ORIGIN),
    "choice": (7.5, 5.0, "route choice\n(logit over open routes)", CHOICE),
    "present": (13.0, 5.0, "present\n(free to move)", ABROAD),
    "waiting": (7.5, 1.3, "waiting for a visa\n(at the route's source)", QUEUE),
    "returned": (10.2, 8.9, "returned\n(in the origin)", ORIGIN),
    "pending": (17.8, 7.6, "asylum claim\npending", ABROAD),
    "settled": (17.8, 2.4, "settled\n(permit or protection)", ABROAD),
}
WIDTH, HEIGHT = 3.0, 1.3

# (start, end, curvature, style, label, label centre, horizontal alignment)
ARROWS = [
    ((3.5, 5.3), (6.0, 5.3), 0.0, "-", "leaves: baseline_hazard\n× shocks × A^deterrence",
     (4.75, 6.0), "center"),
    ((6.0, 4.7), (3.5, 4.7), 0.0, "back", "no usable route,\nor over capacity",
     (4.75, 4.05), "center"),
    ((9.0, 4.7), (11.5, 4.7), 0.0, "-", "route without a queue:\ncrosses within capacity",
     (10.25, 4.05), "center"),
    ((11.5, 5.3), (9.0, 5.3), 0.0, "-", "moves on\n(onward_hazard)", (10.25, 5.95),
     "center"),
    ((7.5, 4.35), (7.5, 1.95), 0.0, "-", "visa_required or\nhumanitarian_only:\napplies",
     (7.35, 3.15), "right"),
    ((6.0, 1.3), (2.0, 4.35), -0.25, "back", "refused in the origin",
     (3.1, 2.2), "center"),
    ((9.0, 1.6), (12.3, 4.35), 0.2, "-",
     "granted (issuance)\nafter delay_days;\ncrosses within capacity", (9.95, 3.05), "right"),
    ((9.0, 1.0), (13.7, 4.35), 0.3, "back", "refused abroad:\nback to present",
     (13.35, 2.35), "left"),
    ((12.4, 5.65), (10.9, 8.25), 0.0, "-", "return_hazard", (11.45, 7.75), "right"),
    ((14.5, 5.5), (16.3, 7.1), 0.0, "-", "claim_hazard", (15.0, 6.6), "center"),
    ((14.5, 4.5), (16.3, 2.9), 0.0, "-", "settle_hazard", (15.0, 3.4), "center"),
    ((17.8, 6.95), (17.8, 3.05), 0.0, "-",
     "decided after\nprocessing_days,\nwithin capacity;\ngranted:\nrecognition_rate",
     (17.65, 5.0), "right"),
    ((16.3, 8.1), (11.7, 9.0), 0.05, "-", "rejected, returns (rejected_return)",
     (14.0, 9.15), "center"),
    ((16.3, 7.4), (8.6, 5.65), 0.18, "-", "rejected, moves on", (14.4, 7.6), "center"),
    # optional transitions (hazards 0 by default)
    ((16.3, 2.1), (9.0, 4.5), -0.08, "optional",
     "moves on: settled_onward_hazard\n(returns: settled_return_hazard;\nboth 0 by default)",
     (15.0, 1.15), "center"),
    ((8.7, 8.9), (7.5, 5.65), 0.25, "optional",
     "leaves again:\nreemigration_hazard\n× shocks × A^deterrence", (5.9, 7.9), "center"),
    ((17.2, 6.95), (13.6, 5.65), -0.35, "optional",
     "absconds: abscond_hazard\n(moves on: pending_onward_hazard)", (15.75, 6.05), "center"),
]


def draw() -> Figure:
    """The diagram as a matplotlib Figure (Agg canvas, no pyplot)."""
    fig = Figure(figsize=(13.0, 7.2))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.93))
    ax.set_xlim(0, 20)
    ax.set_ylim(-0.7, 9.9)
    ax.set_axis_off()
    fig.suptitle("flowsim: compartments (boxes) and the transitions of one step (arrows)",
                 fontsize=13, y=0.975)

    for name, (x, y, label, colour) in BOXES.items():
        choice = name == "choice"
        ax.add_patch(FancyBboxPatch(
            (x - WIDTH / 2, y - HEIGHT / 2), WIDTH, HEIGHT,
            boxstyle=f"round,pad=0.08,rounding_size={0.5 if choice else 0.15}",
            facecolor=colour, edgecolor=EDGE, linewidth=1.2, linestyle="--" if choice else "-",
            zorder=3))
        ax.text(x, y, label, ha="center", va="center", fontsize=10.5, zorder=4,
                fontweight="normal" if choice else "bold")

    for a, b, rad, style, label, at, align in ARROWS:
        colour = {"back": BACK, "optional": OPTIONAL}.get(style, EDGE)
        line = {"back": "--", "optional": ":"}.get(style, "-")
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=16,
                                     connectionstyle=f"arc3,rad={rad}", color=colour,
                                     linewidth=1.3, linestyle=line, zorder=2, shrinkA=0,
                                     shrinkB=0))
        ax.text(*at, label, ha=align, va="center", fontsize=8.8, color=colour, zorder=5,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                      "edgecolor": "none", "alpha": 0.85})

    legend = [(ORIGIN, "in the origin (counted in its stock)"),
              (ABROAD, "in a country abroad"),
              (QUEUE, "queued on a route (counted in its source's stock)")]
    for i, (colour, text) in enumerate(legend):
        x = 0.3 + i * 5.2
        ax.add_patch(FancyBboxPatch((x, -0.45), 0.5, 0.32, boxstyle="round,pad=0.02",
                                    facecolor=colour, edgecolor=EDGE, linewidth=0.8))
        ax.text(x + 0.7, -0.29, text, va="center", fontsize=9)
    ax.text(19.9, -0.29, "dashed: back where they were", ha="right", va="center",
            fontsize=9, color=BACK)
    ax.text(19.9, -0.62, "dotted: off unless a scenario turns it on", ha="right",
            va="center", fontsize=9, color=OPTIONAL)
    return fig


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    draw().savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
