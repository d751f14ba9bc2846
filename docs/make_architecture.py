"""Draw flowsim's pipeline from its code, and write the stage table of the architecture page.

Writes ``docs/images/architecture.png`` and the block of ``docs/architecture.md`` between its
``<!-- stages -->`` markers (or checks them, with ``--check``)::

    python docs/make_architecture.py [--check]

Both come from the package itself: the stages and their ranks from
:data:`flowsim.testing.layout.STAGES`, the arrows from the import graph read with :mod:`ast`
(:func:`flowsim.testing.layout.imports`), each stage's job from the first line of its
docstring, its modules from its folder. An arrow ``A -> B`` means that B imports A (data flow
down the pipeline); only the arrows of the graph's transitive reduction are drawn, since a
stage may use every stage above it.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import networkx as nx
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath

import flowsim
from flowsim.testing.layout import ALIASES, STAGES, imports, modules, stage_of

DOCS = Path(__file__).resolve().parent
OUT = DOCS / "images" / "architecture.png"
PAGE = DOCS / "architecture.md"
PACKAGE = Path(flowsim.__file__).parent
BEGIN, END = "<!-- stages: made by docs/make_architecture.py -->", "<!-- end of stages -->"
#: Stages drawn (the base modules every stage may use, and python -m, are left out).
DRAWN = [s for s, (rank, _) in STAGES.items() if 0 < rank < 10]
BOX = "#D6E6F2"
API = "#F2E6D0"
EDGE = "#333333"


def _first_line(path: Path) -> str:
    """The first sentence of a module's docstring, in Markdown."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    para = " ".join(doc.strip().split("\n\n")[0].split())
    para = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", para).replace("``", "`")
    return re.split(r"(?<=[a-z)`])\. ", para)[0].rstrip(".")


def _is_alias(name: str) -> bool:
    return name.removeprefix("flowsim.") in ALIASES


def stage_graph() -> nx.DiGraph:
    """Stages, with an edge ``A -> B`` where a module of B imports one of A."""
    g = nx.DiGraph()
    g.add_nodes_from(DRAWN)
    for e in imports(PACKAGE):
        if _is_alias(e.source) or _is_alias(e.target):
            continue
        a, b = stage_of(e.target), stage_of(e.source)
        if a != b and a in DRAWN and b in DRAWN:
            g.add_edge(a, b)
    return g


def stage_table() -> str:
    """The Markdown table of the stages: folder, job, modules (each with its job)."""
    mods = {m: p for m, p in modules(PACKAGE).items() if not _is_alias(m)}
    rows = ["| rank | stage | what it does | modules |", "|---:|---|---|---|"]
    for stage, (rank, _) in sorted(STAGES.items(), key=lambda kv: (kv[1][0], kv[0])):
        name = f"flowsim.{stage}" if stage else "flowsim"
        if name not in mods:
            continue
        members = sorted(m for m in mods if m != name and stage_of(m) == stage)
        if stage == "":
            members = []
        listed = "<br>".join(f"`{m.removeprefix(name + '.')}`: {_first_line(mods[m])}"
                             for m in members)
        where = f"`{stage}/`" if mods[name].name == "__init__.py" and stage else \
            f"`{mods[name].name}`" if stage else "`__init__.py`"
        rows.append(f"| {rank} | {where} | {_first_line(mods[name])} | {listed} |")
    return "\n".join(rows) + "\n"


def draw(out: Path = OUT) -> Path:
    """Draw the stages by rank, top to bottom, with the arrows of the transitive reduction."""
    g = nx.transitive_reduction(stage_graph())
    ranks: dict[int, list[str]] = {}
    for s in DRAWN:
        ranks.setdefault(STAGES[s][0], []).append(s)
    width, row = 10.0, 1.25
    pos = {}
    for i, (rank, names) in enumerate(sorted(ranks.items())):
        for j, s in enumerate(sorted(names)):
            pos[s] = ((j + 1) * width / (len(names) + 1), -i * row)
    fig = Figure(figsize=(7.5, 0.78 * len(ranks) + 0.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    bw, bh = 3.1, 0.72
    for s, (x, y) in pos.items():
        face = API if s == "" else BOX
        ax.add_patch(FancyBboxPatch((x - bw / 2, y - bh / 2), bw, bh,
                                    boxstyle="round,pad=0.02,rounding_size=0.12",
                                    facecolor=face, edgecolor=EDGE, linewidth=1.0))
        title = "flowsim (the API)" if s == "" else f"{s}/"
        ax.text(x, y + 0.12, title, ha="center", va="center", fontsize=10.5,
                fontweight="bold", family="monospace")
        ax.text(x, y - 0.17, STAGES[s][1], ha="center", va="center", fontsize=8.5)
    # neighbours are joined straight; an arrow that skips rows leaves its source from below,
    # runs down a lane beside the boxes and enters its target from above, each arrow in its
    # own lane and at its own height in the gaps, so that none crosses a box
    left = min(x for x, _ in pos.values()) - bw / 2
    right = max(x for x, _ in pos.values()) + bw / 2
    lanes = {-1: 0, 1: 0}
    gap = row - bh
    for a, b in sorted(g.edges, key=lambda e: (pos[e[0]][1] - pos[e[1]][1], e)):
        (xa, ya), (xb, yb) = pos[a], pos[b]
        if round((ya - yb) / row) == 1:
            verts = [(xa, ya - bh / 2), (xb, yb + bh / 2)]
        else:
            side = -1 if xa + xb < width or (xa + xb == width and xb < xa) else 1
            lanes[side] += 1
            k = lanes[side]
            lane = (left - 0.22 * k) if side < 0 else (right + 0.22 * k)
            out_y = ya - bh / 2 - gap * (0.2 + 0.12 * (k % 4))
            in_y = yb + bh / 2 + gap * (0.2 + 0.12 * (k % 4))
            xa2, xb2 = xa + side * bw * 0.3, xb + side * bw * 0.3
            verts = [(xa2, ya - bh / 2), (xa2, out_y), (lane, out_y), (lane, in_y),
                     (xb2, in_y), (xb2, yb + bh / 2)]
        path = MplPath(verts, [MplPath.MOVETO] + [MplPath.LINETO] * (len(verts) - 1))
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=11,
                                     color=EDGE, linewidth=0.9, shrinkA=0, shrinkB=1))
    ax.text(width / 2, pos["cli"][1] - 0.75, "Every stage may also use errors and _version; an arrow "
            "A → B: B imports A (transitive reduction drawn).", fontsize=7.5, color="0.35",
            ha="center")
    ax.set_xlim(left - 0.22 * (lanes[-1] + 1), right + 0.22 * (lanes[1] + 1))
    ax.set_ylim(pos["cli"][1] - 0.9, 0.55)
    ax.set_axis_off()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150, metadata={"Software": None})
    return out


def page_with_table(text: str) -> str:
    """The architecture page with its stage table made anew."""
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"{PAGE.name} has no {BEGIN} ... {END} block")
    return f"{head}{BEGIN}\n{stage_table()}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Write (or, with ``--check``, compare) the table; draw the figure unless checking."""
    args = sys.argv[1:] if argv is None else argv
    text = PAGE.read_text(encoding="utf-8")
    new = page_with_table(text)
    if "--check" in args:
        if new != text:
            print(f"{PAGE} is out of date: run python docs/make_architecture.py")
            return 1
        return 0
    PAGE.write_text(new, encoding="utf-8")
    out = Path(args[0]) if args else OUT
    print(f"wrote {PAGE} and {draw(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
