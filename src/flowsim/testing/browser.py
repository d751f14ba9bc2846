"""A headless browser (Chromium) for checking and photographing HTML reports.

:func:`find_chromium` says where Chromium is (``None`` when it is not installed: tests that
need it are skipped). :func:`check_page` loads a page in headless Chromium and says what a
reader would meet: errors on the console or from resources, and the images that did not
show. :func:`screenshot` takes a PNG of a page (``docs/screenshots.py`` makes the README's
with it). Nothing here is needed to use flowsim.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PageCheck", "check_page", "find_chromium", "screenshot"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--disable-extensions", "--hide-scrollbars")

#: Injected at the start of ``<head>`` of a copy of the page: records what goes to the
#: console as an error, and errors of scripts and resources (caught in the capture phase).
_HOOK = """<script>
window.__flowsimErrors = [];
(function () {
  var error = console.error;
  console.error = function () {
    window.__flowsimErrors.push(Array.prototype.join.call(arguments, " "));
    return error.apply(console, arguments);
  };
})();
window.addEventListener("error", function (e) {
  window.__flowsimErrors.push(String(e.message || (e.target && (e.target.src || e.target.href))
                                     || "error"));
}, true);
window.addEventListener("unhandledrejection", function (e) {
  window.__flowsimErrors.push("unhandled rejection: " + String(e.reason));
});
</script>"""
#: Injected before ``</body>``: once the page has loaded, which images show.
_PROBE = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var hidden = images.filter(function (i) {
    var r = i.getBoundingClientRect();
    return !(i.complete && i.naturalWidth > 0 && r.width > 0 && r.height > 0);
  }).map(function (i) { return i.alt || i.src.slice(0, 40); });
  var out = document.createElement("pre");
  out.id = "flowsim-check";
  out.textContent = JSON.stringify({images: images.length, hidden: hidden,
                                    errors: window.__flowsimErrors,
                                    title: document.title});
  document.body.appendChild(out);
});
</script>"""


@dataclasses.dataclass(frozen=True)
class PageCheck:
    """What loading a page showed.

    Attributes
    ----------
    title : str
    images : int
        Images on the page.
    hidden : tuple of str
        The images (by ``alt`` text) that did not load or have no size on screen.
    console_errors : tuple of str
        Errors on the console, and from scripts or resources that failed.
    """

    title: str
    images: int
    hidden: tuple[str, ...]
    console_errors: tuple[str, ...]


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable on the ``PATH``, or ``$CHROMIUM``; ``None`` if
    there is none."""
    given = os.environ.get("CHROMIUM")
    if given and shutil.which(given):
        return shutil.which(given)
    return next((shutil.which(n) for n in _NAMES if shutil.which(n)), None)


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("Chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([exe, *_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=False)


def check_page(path: str | os.PathLike[str], timeout: float = 120.0) -> PageCheck:
    """Load an HTML file in headless Chromium and report errors and images not shown.

    The page is loaded from a copy with two small probe scripts added (at the start of
    its head and at the end of its body; a flowsim report holds no script of its own).
    """
    page = Path(path)
    html = page.read_text(encoding="utf-8")
    if "</body>" not in html or "<head>" not in html:
        raise ValueError(f"{page} has no <head> or no </body>")
    with tempfile.TemporaryDirectory() as d:
        probe = Path(d) / page.name
        probe.write_text(html.replace("<head>", "<head>" + _HOOK, 1)
                         .replace("</body>", _PROBE + "</body>", 1), encoding="utf-8")
        r = _run(["--virtual-time-budget=15000", "--dump-dom", probe.as_uri()], timeout)
    m = re.search(r'<pre id="flowsim-check">(.*?)</pre>', r.stdout, flags=re.DOTALL)
    if m is None:
        raise RuntimeError(f"Chromium did not load {page} (exit {r.returncode}): "
                           f"{r.stderr[-500:]}")
    found = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&")
                       .replace("&lt;", "<").replace("&gt;", ">"))
    return PageCheck(str(found["title"]), int(found["images"]), tuple(found["hidden"]),
                     tuple(found["errors"]))


def screenshot(path: str | os.PathLike[str], png: str | os.PathLike[str],
               width: int = 1200, height: int = 1600, timeout: float = 120.0) -> Path:
    """A PNG of the top ``width`` × ``height`` pixels of an HTML file, in headless Chromium."""
    out = Path(png).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    r = _run([f"--window-size={width},{height}", f"--screenshot={out}",
              "--virtual-time-budget=15000", Path(path).resolve().as_uri()], timeout)
    if not out.is_file():
        raise RuntimeError(f"Chromium took no screenshot (exit {r.returncode}): "
                           f"{r.stderr[-500:]}")
    return out
