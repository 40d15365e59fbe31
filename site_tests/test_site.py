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

Every page is opened twice: on a desktop (1280 px wide) and on a phone (390 px wide). On the phone
the page must not scroll sideways, and every figure must fill at least 90 % of the text column.
There is no list of tolerated console errors: any error fails the page.

The navigation is driven as a reader drives it: at 390, 800 and 1366 px the menu button must move
the sidebar (open it on a narrow screen, hide it on a wide one) and back, and on a phone a chapter
must be reachable through it. Each width shows exactly one search control, and search results
quote the chapter, not the page's toolbar.

A full-page screenshot of every page at both widths is written to ``_build/screenshots/``. The last
tests feed the checker deliberately broken pages, so that each check is seen to fail.

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
PHONE = {"width": 390, "height": 844}
#: Widths (px) at which a page is checked, with the name used for its screenshot folder.
WIDTHS = {"desktop": VIEWPORT, "phone": PHONE}
#: On a phone, a figure must be at least this fraction of the text column wide.
MIN_FIGURE_FRACTION = 0.9
MATHJAX_WAIT_MS = 10_000
IMAGE_WAIT_MS = 10_000

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
  // Layout: how far the page scrolls sideways, and each figure's width against the text column.
  out.pageWidth = document.documentElement.scrollWidth;
  out.viewportWidth = window.innerWidth;
  const article = document.querySelector('article.bd-article') || document.querySelector('article');
  out.figures = [];
  // Equation numbers drawn over their equation (boxes that intersect).
  const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  out.eqnoOverlaps = Array.from(document.querySelectorAll('div.math')).filter((div) => {
    const no = div.querySelector('span.eqno'), eq = div.querySelector('mjx-container');
    return no && eq && meet(no.getBoundingClientRect(), eq.getBoundingClientRect());
  }).map((div) => div.querySelector('span.eqno').textContent.trim());
  if (article) {
    const cs = getComputedStyle(article);
    const column = article.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    out.columnWidth = column;
    const figs = article.querySelectorAll('figure img, .cell_output img, .animation img');
    for (const img of new Set(figs)) {
      if (img.closest('.pasted-inline')) continue;
      out.figures.push([img.getAttribute('src').slice(0, 60), img.getBoundingClientRect().width]);
    }
  }
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

    def inspect(self, rel: str, screenshot: Path | None = None,
                viewport: dict = VIEWPORT) -> tuple[list[str], dict]:
        """Open page ``rel`` at ``viewport``; return (problems, facts), where facts counts what
        was checked. On a narrow viewport (below 600 px) the layout is checked too."""
        problems: list[str] = []
        self.external.clear()
        # A fresh context per page: empty storage and cache, as for a reader's first visit (the
        # theme, for one, behaves differently once it has stored a choice in localStorage).
        context = self.browser.new_context(viewport=viewport, service_workers="block")
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
        if viewport["width"] < 600:
            problems += layout_problems(facts)
        counts = {k: facts[k] for k in ("mathCount", "imageCount")} | {"links": len(seen)}
        return problems, counts


def layout_problems(facts: dict) -> list[str]:
    """What a phone reader would suffer: sideways scrolling, figures narrower than the column."""
    problems = []
    if facts["pageWidth"] > facts["viewportWidth"]:
        problems.append(f"the page scrolls sideways: {facts['pageWidth']} px of content in a "
                        f"{facts['viewportWidth']}-px-wide screen")
    for number in facts["eqnoOverlaps"]:
        problems.append(f"equation number {number} is drawn over its equation")
    column = facts.get("columnWidth") or 0
    for src, width in facts["figures"]:
        if column and width < MIN_FIGURE_FRACTION * column - 0.5:
            problems.append(f"figure {src!r} is {width:.0f} px wide in a {column:.0f}-px column "
                            f"(at least {MIN_FIGURE_FRACTION:.0%} wanted)")
    return problems


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


@pytest.mark.parametrize("device", WIDTHS)
@pytest.mark.parametrize("rel", PAGES)
def test_page(site, rel, device):
    shot = SHOTS / device / (rel.removesuffix(".html").replace("/", "__") + ".png")
    problems, counts = site.inspect(rel, screenshot=shot, viewport=WIDTHS[device])
    print(f"{rel} ({device}): {counts}")
    assert not problems, f"{rel}: {len(problems)} problem(s)\n  " + "\n  ".join(problems)


def test_no_page_loads_thebe():
    """Live code (thebe) is off: no page may load its scripts or carry its Binder configuration."""
    for rel in PAGES:
        html = (SITE / rel).read_text(encoding="utf-8").lower()
        assert "thebe" not in html, f"{rel} still loads thebe"


# --- explorable figures (optlab.explore, drawn by _static/explore.js) --------------------------

EXPLORE_PAGE = "book/explore/surfaces.html"


def _path_points(page, root) -> str:
    return page.evaluate(
        "r => Array.from(r.querySelectorAll('svg.optlab-explore-surface .trail polyline'))"
        ".map(p => p.getAttribute('points')).join('|')",
        root.element_handle(),
    )


@pytest.mark.parametrize("width", [390, 1280])
def test_dragging_a_slider_redraws_the_explorer(browser, site, width):
    """Every explorer draws; moving a slider, and picking another optimiser, changes the
    path on the surface, the loss curve and the readout; nothing sticks out on a phone."""
    context, page, errors = _open_page(browser, site, EXPLORE_PAGE, width)
    try:
        roots = page.locator(".optlab-explore")
        assert roots.count() == 2, f"{roots.count()} explorers on {EXPLORE_PAGE} (2 wanted)"
        for k in range(roots.count()):
            root = roots.nth(k)
            assert root.get_attribute("data-error") is None
            assert root.locator("svg.optlab-explore-surface .contour").count() > 5
            before = (_path_points(page, root), root.get_attribute("data-state"),
                      root.locator(".optlab-explore-readout").inner_text())
            assert before[0], "no path drawn"
            slider = root.locator("input[type=range]").first
            box = slider.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
            slider.focus()
            page.keyboard.press("End")  # drag to the largest learning rate
            after = (_path_points(page, root), root.get_attribute("data-state"),
                     root.locator(".optlab-explore-readout").inner_text())
            assert all(a != b for a, b in zip(before, after)), (before[1], after[1])
            root.locator("select").select_option("Adam")
            assert root.get_attribute("data-state").startswith("Adam:")
            assert root.locator("input[type=range]").count() == 3  # eta, beta1, beta2
            assert _path_points(page, root) != after[0]
        assert not errors, errors
    finally:
        context.close()


#: One explorer on each of these chapter pages: (the label of the slider to move, the
#: key that moves it away from its start, an optimiser to pick afterwards or None where
#: the menu has one entry, and how many sliders that optimiser has).
CHAPTER_EXPLORERS = {
    "book/part1/02_classic_optimizers.html": ("η", "End", "Adam", 3),
    "book/part1/04_when_adam_fails.html": ("β₂", "Home", None, 2),
    "book/part1/05_amsgrad.html": ("β₂", "End", "AMSGrad", 2),
    "book/part1/08_lr_schedules.html": ("η", "End", "one-cycle", 1),
    "book/part2/12_nesterov_nadam.html": ("λ", "End", "NAG", 2),
}


def _explorer_state(page, root) -> tuple[str, str | None, str]:
    return (_path_points(page, root), root.get_attribute("data-state"),
            root.locator(".optlab-explore-readout").inner_text())


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("rel", list(CHAPTER_EXPLORERS))
def test_each_chapter_explorer_redraws(browser, site, rel, width):
    """The chapters' explorers draw; moving the slider the chapter is about changes the
    path, the state and the readout, and so does another optimiser where there is one;
    the slider stays on a phone's screen."""
    label, key, other, n_sliders = CHAPTER_EXPLORERS[rel]
    context, page, errors = _open_page(browser, site, rel, width)
    try:
        roots = page.locator(".optlab-explore")
        assert roots.count() == 1, f"{roots.count()} explorers on {rel} (1 wanted)"
        root = roots.first
        assert root.get_attribute("data-error") is None
        assert root.locator("svg.optlab-explore-surface .contour").count() > 5
        before = _explorer_state(page, root)
        assert before[0], "no path drawn"
        slider = root.locator(f'input[type=range][aria-label="{label}"]')
        assert slider.count() == 1, f"no slider {label!r} on {rel}"
        box = slider.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
        slider.focus()
        page.keyboard.press(key)
        after = _explorer_state(page, root)
        assert all(a != b for a, b in zip(before, after)), (before[1], after[1])
        if other is not None:
            root.locator("select").select_option(other)
            assert root.get_attribute("data-state").startswith(other + ":")
            assert root.locator("input[type=range]").count() == n_sliders
            assert _path_points(page, root) != after[0]
        else:
            assert root.locator("input[type=range]").count() == n_sliders
        assert not errors, errors
    finally:
        context.close()


# --- navigation, driven by clicks ----------------------------------------------------------------

NAV_PAGES = ["book/intro.html", "book/part1/05_amsgrad.html"]
NAV_WIDTHS = [390, 800, 1366]


def _sidebar_box(page) -> tuple[float, float] | None:
    """Left edge and width of the primary sidebar, or None when it is not displayed at all."""
    box = page.locator(".bd-sidebar-primary").first.bounding_box()
    return None if box is None else (round(box["x"]), round(box["width"]))


def _sidebar_shown(page) -> bool:
    box = _sidebar_box(page)
    return box is not None and box[0] + box[1] > 20 and box[0] > -5


def _open_page(browser, site, rel, width):
    context = browser.new_context(viewport={"width": width, "height": 850},
                                  service_workers="block")
    context.route("**/*", site._route)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site.base_url + rel, wait_until="load")
    page.wait_for_timeout(300)
    return context, page, errors


def _menu_button(page):
    buttons = page.locator(".primary-toggle:visible")
    assert buttons.count() == 1, f"{buttons.count()} visible menu buttons (1 wanted)"
    return buttons.first


@pytest.mark.parametrize("width", NAV_WIDTHS)
@pytest.mark.parametrize("rel", NAV_PAGES)
def test_menu_button_moves_the_sidebar(browser, site, rel, width):
    context, page, errors = _open_page(browser, site, rel, width)
    try:
        shown = _sidebar_shown(page)
        # A wide screen shows the sidebar from the start; a narrow one keeps it off-screen.
        assert shown == (width >= 1200), f"sidebar shown={shown} before any click at {width} px"
        _menu_button(page).click()
        page.wait_for_timeout(600)
        assert _sidebar_shown(page) != shown, f"the menu button did not move the sidebar ({width} px)"
        if shown:                                   # hidden now: the same button brings it back
            _menu_button(page).click()
        else:                                       # an overlay now: a click beside it closes it
            page.mouse.click(width - 10, 400)
        page.wait_for_timeout(600)
        assert _sidebar_shown(page) == shown, f"the sidebar did not go back ({width} px)"
        assert not errors, f"console errors: {errors}"
    finally:
        context.close()


def test_a_phone_reader_reaches_a_chapter_through_the_menu(browser, site):
    context, page, errors = _open_page(browser, site, "book/intro.html", 390)
    try:
        _menu_button(page).click()
        page.wait_for_timeout(600)
        link = page.locator(".bd-sidebar-primary a", has_text="AMSGrad").first
        link.click()
        page.wait_for_load_state("load")
        assert page.url.endswith("05_amsgrad.html"), page.url
        assert not errors, f"console errors: {errors}"
    finally:
        context.close()


@pytest.mark.parametrize("width", NAV_WIDTHS)
def test_one_search_control_per_width(browser, site, width):
    context, page, _ = _open_page(browser, site, "book/part1/05_amsgrad.html", width)
    try:
        visible = page.locator(".search-button__button:visible, form.bd-search:visible")
        assert visible.count() == 1, f"{visible.count()} search controls shown at {width} px"
    finally:
        context.close()


def test_search_excerpts_quote_the_chapter_not_the_toolbar(browser, site):
    context, page, errors = _open_page(browser, site, "search.html?q=AMSGrad", 1280)
    try:
        page.wait_for_selector("ul.search li p.context", timeout=15_000)
        page.wait_for_timeout(500)
        excerpts = page.locator("ul.search li p.context").all_inner_texts()
        assert excerpts, "no search results for AMSGrad"
        toolbar = (".ipynb", ".pdf", "Contents")
        bad = [e[:80] for e in excerpts if any(t in e[:60] for t in toolbar)]
        assert not bad, f"excerpts that quote the toolbar: {bad}"
        assert any("AMSGrad" in e for e in excerpts), excerpts
        assert not errors, f"console errors: {errors}"
    finally:
        context.close()


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
<article class="bd-article"><figure><img src="dot.svg" alt="narrow" style="width:40px"></figure>
<div style="width:900px">too wide for a phone</div></article>
<div class="math" style="position:relative"><span class="eqno" style="position:absolute">(9.9)</span>
<mjx-container style="display:block">an equation under its number</mjx-container></div>
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


def test_checker_catches_phone_layout_defects(toy_site):
    problems, _ = toy_site.inspect("bad.html", viewport=PHONE)
    text = "\n".join(problems)
    expected = ["the page scrolls sideways", "figure 'dot.svg' is 40 px wide",
                "equation number (9.9) is drawn over its equation"]
    missing = [e for e in expected if e not in text]
    assert not missing, f"the checker missed {missing}; it reported:\n{text}"
