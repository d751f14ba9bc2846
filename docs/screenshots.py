"""Take the README's screenshots of the HTML reports (needs Chromium, headless).

    python docs/screenshots.py [--replicates N] [--out docs/images]

Runs the bundled scenario and one counterfactual (``flowsim run`` and ``flowsim compare``
with ``--report``, in a temporary folder), then photographs the top of each
``report.html`` in headless Chromium, after checking that the page loads without console
errors and shows every figure. Writes ``report-run.png`` and ``report-compare.png``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from flowsim.testing.browser import check_page, find_chromium, screenshot

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    if find_chromium() is None:
        print("Chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 1
    from flowsim.cli import app

    scenario = ROOT / "scenarios" / "russia-2022.yaml"
    overlay = ROOT / "scenarios" / "counterfactuals" / "eu_humanitarian_visas.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"run": ["run", str(scenario), "--record", "all"],
                "compare": ["compare", str(scenario), str(overlay), "--by", "country"]}
        for name, command in runs.items():
            out = Path(tmp) / name
            try:
                app([*command, "-n", str(args.replicates), "-o", str(out), "--report", "-q"],
                    prog_name="flowsim")
            except SystemExit as e:
                if e.code:
                    return int(e.code)
            page = check_page(out / "report.html")
            if page.console_errors or page.hidden:
                print(f"{name}: {page}", file=sys.stderr)
                return 1
            png = screenshot(out / "report.html", args.out / f"report-{name}.png",
                             width=1100, height=1500)
            print(f"wrote {png} ({page.images} figures, no console errors)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
