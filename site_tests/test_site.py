"""The built site, read the way a reader reads it: every page of ``_build/html`` in headless Chromium.

Run with ``make site-test`` (it builds the book first if needed and installs Debian's chromium when it
is missing). A bare ``pytest`` does not collect this folder: it needs the built site and a browser.

The site is served by a local ``http.server`` and the browser is offline: every request that does
not go to that server is blocked, recorded, and fails the page that made it. A page fails on

* a request to anywhere but the local server (the site must read offline: MathJax, scripts, fonts
  and images all come from the site itself);
* a console error or an uncaught exception, a local file that answered with an error status or
  that failed to load;
* an image that did not load (``naturalWidth == 0``);
* a link to a local page that does not exist, or to an anchor that the target page does not have;
* math that MathJax did not render: every Sphinx ``.math`` element must hold an ``mjx-container``,
  and no TeX error (``mjx-merror``) may appear.

A full-page screenshot of every page is written to ``_build/screenshots/`` for review.
The last tests feed the checker a deliberately broken page, so that each check is seen to fail.

Environment: ``SITE_DIR`` (default ``_build/html``), ``SCREENSHOT_DIR`` (default
``_build/screenshots``), ``CHROMIUM`` (default ``/usr/bin/chromium``).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("SITE_DIR", ROOT / "_build" / "html")).resolve()
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "_build" / "screenshots")).resolve()
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# Chromium flags that keep a headless run quiet and local: no GPU, no QUIC, no background
# connections of the browser itself (updates, sync, safe browsing); and a resolver that knows no
# name but the loopback address, as a second wall behind the request blocker below.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1280, "height": 900}
MATHJAX_WAIT_MS = 10_000
IMAGE_WAIT_MS = 10_000

# Exceptions that the pinned toolchain itself throws on every page, harmless, and not ours to fix:
# sphinx-thebe 0.3.1 registers its inline `const THEBE_JS_URL = ...` script with app.add_js_file,
# and under Sphinx 7.4 that script lands twice in every page; the second copy throws. Thebe (live
# code) is switched off in _config.yml, and the first copy has already defined the constants.
KNOWN_UPSTREAM_EXCEPTIONS = {"Identifier 'THEBE_JS_URL' has already been declared"}

META_REFRESH = re.compile(r"""<meta[^>]+http-equiv=["']?refresh""", re.IGNORECASE)

# Folders of the build that hold assets, not pages (their .html files are theme templates).
NOT_PAGES = {"_static", "_sources", "_images", "jupyter_execute", ".doctrees"}


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the built site, as a path relative to ``site`` with forward slashes."""
    if not site.is_dir():
        return []
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site)
        if rel.parts[0] in NOT_PAGES:
            continue
        pages.append(rel.as_posix())
    return pages


# --- the local server --------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".css": "text/css",
        ".svg": "image/svg+xml",
        ".woff": "font/woff",
        ".woff2": "font/woff2",
        ".ttf": "font/ttf",
        ".json": "application/json",
    }

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 at a free port in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- static anchors of a page, for the link check ------------------------------------------------


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if value and (key == "id" or (key == "name" and tag == "a")):
                self.names.add(value)


@functools.lru_cache(maxsize=None)
def anchors_of(path: Path) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.names)


# --- what runs inside the page ------------------------------------------------------------------

# Waits for MathJax's first typeset and for every image, then reports what the checks need.
INSPECT_JS = """
async ([mathjaxWaitMs, imageWaitMs]) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const out = {mathjaxError: null};
  const maths = Array.from(document.querySelectorAll('.math'));
  if (maths.length) {
    const ready = () => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
    const t0 = Date.now();
    while (!ready() && Date.now() - t0 < mathjaxWaitMs) await sleep(50);
    if (!ready()) {
      out.mathjaxError = 'MathJax did not start within ' + mathjaxWaitMs + ' ms';
    } else {
      try { await window.MathJax.startup.promise; }
      catch (e) { out.mathjaxError = 'MathJax failed: ' + e; }
    }
  }
  const imgs = Array.from(document.images);
  imgs.forEach((img) => { if (img.loading === 'lazy') img.loading = 'eager'; });
  await Promise.all(imgs.map((img) => img.complete ? null : new Promise((r) => {
    img.addEventListener('load', r); img.addEventListener('error', r); setTimeout(r, imageWaitMs);
  })));
  if (document.fonts) await document.fonts.ready;
  const text = (el) => el.textContent.replace(/\\s+/g, ' ').trim().slice(0, 80);
  out.mathCount = maths.length;
  out.unrenderedMath = maths.filter((el) => !el.querySelector('mjx-container')).map(text);
  out.mathErrors = Array.from(document.querySelectorAll('mjx-merror'))
    .map((el) => el.getAttribute('data-mjx-error') || text(el));
  out.brokenImages = imgs.filter((img) => !img.complete || img.naturalWidth === 0)
    .map((img) => img.getAttribute('src') || img.outerHTML.slice(0, 120));
  out.imageCount = imgs.length;
  out.links = Array.from(document.querySelectorAll('a[href], link[rel=next][href], link[rel=prev][href]'))
    .map((a) => [a.getAttribute('href'), a.href]);
  return out;
}
"""


class SiteChecker:
    """Opens pages of one served folder, each in a fresh browser context, and lists what is wrong."""

    def __init__(self, browser, root: Path, base_url: str, mathjax_wait_ms: int = MATHJAX_WAIT_MS):
        self.root = root
        self.mathjax_wait_ms = mathjax_wait_ms
        self.base_url = base_url
        self.netloc = urlsplit(base_url).netloc
        self.browser = browser
        self.external: list[str] = []

    def _route(self, route):
        url = route.request.url
        if urlsplit(url).netloc == self.netloc:
            route.continue_()
        else:
            self.external.append(url)
            route.abort("blockedbyclient")

    def _local_file(self, url: str) -> Path | None:
        """The file of ``root`` that a same-origin URL points to (None for another origin)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc != self.netloc:
            return None
        target = self.root / unquote(parts.path).lstrip("/")
        if parts.path.endswith("/") or target.is_dir():
            target = target / "index.html"
        return target

    def check_link(self, raw: str, url: str) -> str | None:
        target = self._local_file(url)
        if target is None:  # another site, mailto:, javascript:, ...: not ours to check offline
            return None
        if not target.is_file():
            return f"broken link {raw!r}: {target.relative_to(self.root).as_posix()} does not exist"
        fragment = unquote(urlsplit(url).fragment)
        if fragment and target.suffix == ".html" and fragment not in anchors_of(target):
            where = target.relative_to(self.root).as_posix()
            return f"broken link {raw!r}: {where} has no anchor #{fragment}"
        return None

    def _evaluate(self, page) -> dict:
        """Run INSPECT_JS, again if a late navigation destroyed the page's context."""
        for _ in range(3):
            try:
                return page.evaluate(INSPECT_JS, [self.mathjax_wait_ms, IMAGE_WAIT_MS])
            except PlaywrightError as exc:
                if "context was destroyed" not in str(exc):
                    raise
                page.wait_for_load_state("load")
        raise AssertionError(f"{page.url} keeps navigating away")

    def inspect(self, rel: str, screenshot: Path | None = None) -> tuple[list[str], dict]:
        """Open page ``rel``; return (problems, facts), where facts counts what was checked."""
        problems: list[str] = []
        self.external.clear()
        # A fresh context per page: empty storage and cache, as for a reader's first visit (the
        # theme, for one, behaves differently once it has stored a choice in localStorage).
        context = self.browser.new_context(viewport=VIEWPORT, service_workers="block")
        context.route("**/*", self._route)
        page = context.new_page()

        def on_console(msg):
            if msg.type == "error":
                loc = msg.location or {}
                where = f" ({loc['url']}:{loc.get('lineNumber', '')})" if loc.get("url") else ""
                problems.append(f"console error: {msg.text}{where}")

        def on_response(response):
            if response.status >= 400 and urlsplit(response.url).netloc == self.netloc:
                problems.append(f"HTTP {response.status} for {response.url}")

        def on_request_failed(request):
            if urlsplit(request.url).netloc == self.netloc:
                problems.append(f"request failed: {request.url} ({request.failure})")

        def on_page_error(exc):
            if str(exc) not in KNOWN_UPSTREAM_EXCEPTIONS:
                problems.append(f"uncaught exception: {exc}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("response", on_response)
        page.on("requestfailed", on_request_failed)
        try:
            url = self.base_url + rel
            page.goto(url, wait_until="load")
            if META_REFRESH.search((self.root / rel).read_text(encoding="utf-8", errors="replace")):
                # A redirect page (the site's root index.html): check the page it leads to.
                page.wait_for_url(lambda u: u != url, wait_until="load", timeout=10_000)
            facts = self._evaluate(page)
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()

        if facts["mathjaxError"]:
            problems.append(facts["mathjaxError"])
        problems += [f"math not rendered: {t!r}" for t in facts["unrenderedMath"]]
        problems += [f"TeX error: {t!r}" for t in facts["mathErrors"]]
        problems += [f"image did not load: {src}" for src in facts["brokenImages"]]
        seen = set()
        for raw, url in facts["links"]:
            if url in seen:
                continue
            seen.add(url)
            problem = self.check_link(raw, url)
            if problem:
                problems.append(problem)
        for url in dict.fromkeys(self.external):
            problems.append(f"request to outside the site (blocked): {url}")
        counts = {k: facts[k] for k in ("mathCount", "imageCount")} | {"links": len(seen)}
        return problems, counts


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run scripts/ensure_chromium.sh (or `make site-test`)")
    with sync_playwright() as pw:
        # Playwright gives the browser a fresh temporary profile (--user-data-dir) of its own.
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def site(browser):
    with serve(SITE) as base_url:
        yield SiteChecker(browser, SITE, base_url)


@pytest.fixture(scope="session", autouse=True)
def _fresh_screenshots():
    """Screenshots of pages that no longer exist must not linger among the ones to review."""
    if SHOTS.is_dir():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir(parents=True)


# --- the site ------------------------------------------------------------------------------------

PAGES = site_pages(SITE)


def test_site_is_built():
    assert (SITE / "index.html").is_file(), f"no built site at {SITE}: run `make book` first"
    assert len(PAGES) >= 2, f"only {PAGES} found under {SITE}"


def test_mathjax_is_vendored():
    """The pages load MathJax from the site's own _static folder (no CDN)."""
    assert (SITE / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    pages_with_math = [p for p in PAGES if 'class="math' in (SITE / p).read_text(encoding="utf-8")]
    assert pages_with_math, "no page has math: the math check would test nothing"
    for rel in pages_with_math:
        html = (SITE / rel).read_text(encoding="utf-8")
        assert "_static/mathjax/tex-mml-chtml.js" in html, f"{rel} does not load the vendored MathJax"


@pytest.mark.parametrize("rel", PAGES)
def test_page(site, rel):
    shot = SHOTS / (rel.removesuffix(".html").replace("/", "__") + ".png")
    problems, counts = site.inspect(rel, screenshot=shot)
    print(f"{rel}: {counts}")
    assert not problems, f"{rel}: {len(problems)} problem(s)\n  " + "\n  ".join(problems)


# --- the checker itself, on pages made to fail -------------------------------------------------

GOOD_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>good</title></head>
<body><h1 id="top">Good</h1><p><a href="#top">up</a> <a href="bad.html">bad</a>
<a href="good.html#top">self</a></p><img src="dot.svg" alt="dot"></body></html>
"""

BAD_PAGE = r"""<!doctype html><html><head><meta charset="utf-8"><title>bad</title></head>
<body>
<p><a href="missing.html">missing page</a> <a href="good.html#no-such-anchor">missing anchor</a></p>
<img src="missing.png" alt="missing">
<img src="http://offline-check.invalid/pixel.png" alt="external">
<span class="math notranslate nohighlight">\(x^2\)</span>
<script>console.error("deliberate console error");</script>
</body></html>
"""

DOT_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle cx="4" cy="4" r="3"/></svg>'
)


@pytest.fixture(scope="module")
def toy_site(browser, tmp_path_factory):
    root = tmp_path_factory.mktemp("toy_site")
    (root / "good.html").write_text(GOOD_PAGE, encoding="utf-8")
    (root / "bad.html").write_text(BAD_PAGE, encoding="utf-8")
    (root / "dot.svg").write_text(DOT_SVG, encoding="utf-8")
    with serve(root) as base_url:
        yield SiteChecker(browser, root, base_url, mathjax_wait_ms=1000)


def test_checker_passes_a_good_page(toy_site):
    problems, counts = toy_site.inspect("good.html")
    assert problems == []
    # "#top" and "good.html#top" resolve to the same URL, checked once.
    assert counts == {"mathCount": 0, "imageCount": 1, "links": 2}


def test_checker_catches_every_kind_of_defect(toy_site):
    problems, _ = toy_site.inspect("bad.html")
    text = "\n".join(problems)
    expected = [
        "broken link 'missing.html'",
        "broken link 'good.html#no-such-anchor'",
        "image did not load: missing.png",
        "image did not load: http://offline-check.invalid/pixel.png",
        "HTTP 404 for",
        "request to outside the site (blocked): http://offline-check.invalid/pixel.png",
        "console error: deliberate console error",
        "MathJax did not start",
        "math not rendered: '\\\\(x^2\\\\)'",
    ]
    missing = [e for e in expected if e not in text]
    assert not missing, f"the checker missed {missing}; it reported:\n{text}"
