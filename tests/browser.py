"""Check the rendered HTML book in a real browser: Debian's headless Chromium, driven over the
Chrome DevTools Protocol (CDP) with nothing but ``websocket-client``.

Why a browser: the HTML can be well-formed and still be broken for a reader. An image path that is
wrong, a stylesheet that is missing, a script that throws or a table-of-contents link to a heading
that was renamed all look fine to a text check; a browser loading the page reports them.

The three layers, each usable on its own:

* :func:`chromium` starts ``chromium --headless=new`` with a throw-away profile, connects to its
  first tab and yields a :class:`Browser`; on exit it kills the browser and removes the profile.
* :func:`check_page` loads one URL and returns a :class:`PageReport`: console errors, uncaught
  exceptions, error log entries (failed resource loads land here), failed network loads, every
  ``<img>`` with whether it decoded, the links in ``nav#TOC``, ``<html lang>`` and every element id.
* :func:`layout` loads one URL in a phone-sized viewport and measures what a reader there gets:
  whether the page scrolls sideways (and which elements stick out), captions cut off at the edge,
  each figure's displayed and natural width, and where the first heading starts.
* :func:`check_book` checks every ``*.html`` page of a book folder and turns the reports into a list
  of readable problems (an empty list means the book is fine); :func:`book_problems` does the
  second half for reports you already have (see :func:`check_pages`).

Example::

    from pathlib import Path
    from tests.browser import check_book
    for problem in check_book(Path("_book")):
        print(problem)

Chromium is not downloaded by anything here: install Debian's package with ``make browser``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import websocket

#: Seconds to wait for a page's ``load`` event (and for Chromium to start).
LOAD_TIMEOUT = 30.0
#: Seconds of quiet after ``load`` during which late console messages and errors are still caught.
SETTLE = 0.3

INSTALL_HINT = "run `make browser` to install Debian's chromium (CI installs it the same way)"


class BrowserError(RuntimeError):
    """Chromium could not be started, or did not answer as the DevTools protocol says it should."""


class BrowserNotFound(BrowserError):
    """No ``chromium`` executable on PATH."""


# --- Talking CDP over one websocket -------------------------------------------------------------


class Session:
    """One DevTools websocket connection to a page target.

    :meth:`send` issues a command and waits for its reply; events that arrive meanwhile are kept in
    :attr:`events` (in order) so nothing is lost between commands. :meth:`wait_for` waits for an
    event by name. Everything is synchronous: one reader, no threads.
    """

    def __init__(self, ws_url: str, timeout: float = LOAD_TIMEOUT) -> None:
        # suppress_origin: Chromium refuses websocket handshakes carrying an Origin header unless
        # started with --remote-allow-origins; websocket-client sends one by default.
        self._ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self._timeout = timeout
        self._next_id = 0
        self.events: list[dict] = []

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._ws.close()

    def _receive(self, deadline: float) -> dict | None:
        """The next message, or None if nothing arrives before ``deadline``."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        self._ws.settimeout(remaining)
        try:
            raw = self._ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        message = json.loads(raw)
        if message.get("method") == "Page.javascriptDialogOpening":
            # An alert()/confirm() would block the page (and its load event) forever.
            self._post("Page.handleJavaScriptDialog", {"accept": True})
        return message

    def _post(self, method: str, params: dict | None = None) -> int:
        self._next_id += 1
        self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params or {}}))
        return self._next_id

    def send(self, method: str, params: dict | None = None, timeout: float | None = None) -> dict:
        """Send a command and return its ``result``; raise :class:`BrowserError` on an error."""
        msg_id = self._post(method, params)
        deadline = time.monotonic() + (timeout or self._timeout)
        while True:
            message = self._receive(deadline)
            if message is None:
                raise BrowserError(f"no reply to {method} within {timeout or self._timeout:.0f} s")
            if message.get("id") == msg_id:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, timeout: float, start: int = 0) -> dict | None:
        """The first event named ``method`` at or after ``events[start]``, waiting up to ``timeout``
        seconds for it; None if it does not come."""
        for event in self.events[start:]:
            if event["method"] == method:
                return event
        deadline = time.monotonic() + timeout
        while (message := self._receive(deadline)) is not None:
            if "method" in message:
                self.events.append(message)
                if message["method"] == method:
                    return message
        return None

    def settle(self, quiet: float = SETTLE) -> None:
        """Collect events until none has arrived for ``quiet`` seconds (at most ~5 s in all)."""
        end = time.monotonic() + 5
        while time.monotonic() < end:
            message = self._receive(time.monotonic() + quiet)
            if message is None:
                return
            if "method" in message:
                self.events.append(message)


@dataclass
class Browser:
    """A running headless Chromium: its DevTools ``port`` and a :class:`Session` on its tab."""

    port: int
    session: Session
    process: subprocess.Popen


def _find_chromium(executable: str | None = None) -> str:
    path = shutil.which(executable or os.environ.get("CHROMIUM", "chromium"))
    if path is None:
        raise BrowserNotFound(f"chromium is not on PATH: {INSTALL_HINT}")
    return path


def _http_json(port: int, path: str) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.load(response)


def _stop(process: subprocess.Popen) -> None:
    """Stop Chromium and all its helper processes (they share its process group)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):  # helpers that outlived the main process
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def chromium(executable: str | None = None, timeout: float = LOAD_TIMEOUT) -> Iterator[Browser]:
    """Start headless Chromium with a fresh profile and yield a :class:`Browser` on its first tab.

    ``--remote-debugging-port=0`` lets Chromium pick a free port, which it writes to
    ``<profile>/DevToolsActivePort``; the page target is found via ``http://127.0.0.1:PORT/json``.
    On exit the browser is killed and the profile removed. Raises :class:`BrowserNotFound` if there
    is no ``chromium`` (or the ``CHROMIUM`` environment variable's program) on PATH.
    """
    exe = _find_chromium(executable)
    profile = Path(tempfile.mkdtemp(prefix="genomlysning-chromium-"))
    log = (profile.parent / f"{profile.name}.log").open("w+b")
    process = None
    session = None
    try:
        process = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so _stop() gets every helper
        )

        def failure(what: str) -> BrowserError:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-2000:]
            return BrowserError(f"{what} ({exe}); its output:\n{tail}")

        deadline = time.monotonic() + timeout
        port_file = profile / "DevToolsActivePort"
        port = None
        while port is None:
            if process.poll() is not None:
                raise failure(f"chromium exited with code {process.returncode} while starting")
            if time.monotonic() > deadline:
                raise failure(f"chromium wrote no {port_file.name} within {timeout:.0f} s")
            lines = port_file.read_text().splitlines() if port_file.is_file() else []
            if len(lines) >= 2 and lines[0].strip().isdigit():  # port, then the browser's ws path
                port = int(lines[0])
            else:
                time.sleep(0.05)

        page = None
        while page is None:
            with contextlib.suppress(OSError, ValueError):
                targets = _http_json(port, "/json")
                page = next((t for t in targets if t.get("type") == "page"), None)
            if page is None:
                if time.monotonic() > deadline:
                    raise failure(f"no page target at http://127.0.0.1:{port}/json")
                time.sleep(0.05)

        session = Session(page["webSocketDebuggerUrl"], timeout=timeout)
        yield Browser(port=port, session=session, process=process)
    finally:
        if session is not None:
            session.close()
        if process is not None:
            _stop(process)
        log.close()
        Path(log.name).unlink(missing_ok=True)
        shutil.rmtree(profile, ignore_errors=True)


# --- One page -----------------------------------------------------------------------------------


@dataclass
class Image:
    src: str  # as resolved by the browser (absolute)
    complete: bool
    natural_width: int

    @property
    def broken(self) -> bool:
        return self.natural_width == 0


@dataclass
class PageReport:
    """What loading one page showed. ``console`` holds console.error/console.assert messages,
    ``exceptions`` uncaught JavaScript errors, ``log_errors`` the browser's own error log (for
    example "Failed to load resource"), ``failed_loads`` requests that failed, as (url, reason)."""

    url: str
    navigation_error: str | None = None
    console: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    failed_loads: list[tuple[str, str]] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    toc_links: list[str] = field(default_factory=list)  # absolute hrefs of the links in nav#TOC
    lang: str | None = None
    ids: set[str] = field(default_factory=set)
    figures: int = 0  # number of <figure> elements

    @property
    def broken_images(self) -> list[Image]:
        return [image for image in self.images if image.broken]


# Runs in the page after load. Lazy images are made eager and awaited (up to 10 s), so an image
# below the fold counts as loaded or broken rather than as "not yet requested".
_INSPECT = """
(async () => {
  const images = Array.from(document.images);
  for (const img of images) if (img.loading === 'lazy') img.loading = 'eager';
  const settled = img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); });
  await Promise.race([Promise.all(images.map(settled)),
                      new Promise(done => setTimeout(done, 10000))]);
  return {
    images: images.map(i => ({src: i.currentSrc || i.src, complete: i.complete,
                              naturalWidth: i.naturalWidth})),
    toc: Array.from(document.querySelectorAll('nav#TOC a[href]')).map(a => a.href),
    lang: document.documentElement.getAttribute('lang'),
    ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
    figures: document.querySelectorAll('figure').length,
  };
})()
"""


def _remote_text(arg: dict) -> str:
    if "value" in arg:
        return arg["value"] if isinstance(arg["value"], str) else json.dumps(arg["value"])
    return str(arg.get("unserializableValue") or arg.get("description") or arg.get("type"))


def _where(url: str | None, line: int | None) -> str:
    if not url:
        return ""
    return f" ({url}:{line + 1})" if line is not None else f" ({url})"


def _read_events(report: PageReport, events: list[dict]) -> None:
    requests: dict[str, str] = {}
    log: list[dict] = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(_remote_text(arg) for arg in params.get("args", []))
            frames = (params.get("stackTrace") or {}).get("callFrames") or [{}]
            where = _where(frames[0].get("url"), frames[0].get("lineNumber"))
            report.console.append(f"console.{params['type']}: {text}{where}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = (details.get("exception") or {}).get("description") or details.get("text", "")
            text = text.splitlines()[0] if text else "?"  # the message, not the stack
            report.exceptions.append(text + _where(details.get("url"), details.get("lineNumber")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            log.append(params["entry"])
        elif method == "Network.requestWillBeSent":
            requests[params["requestId"]] = params["request"]["url"]
        elif method == "Network.responseReceived":
            response = params.get("response", {})
            if response.get("status", 0) >= 400:
                report.failed_loads.append((response.get("url", "?"),
                                            f"HTTP {response['status']}"))
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            reason = params.get("blockedReason") or params.get("errorText", "failed")
            report.failed_loads.append((requests.get(params.get("requestId"), "?"), reason))
    # A failed load also shows up in the log ("Failed to load resource"); keep one of the two.
    failed = {url for url, _ in report.failed_loads}
    for entry in log:
        if entry.get("source") == "network" and entry.get("url") in failed:
            continue
        report.log_errors.append(entry.get("text", "") + _where(entry.get("url"),
                                                                entry.get("lineNumber")))


def check_page(
    url: str, browser: Browser | None = None, timeout: float = LOAD_TIMEOUT
) -> PageReport:
    """Load ``url`` in headless Chromium and report what went wrong (see :class:`PageReport`).

    Pass a :class:`Browser` from :func:`chromium` to reuse it for many pages; without one a browser
    is started for this page alone. The tab goes to ``about:blank`` first, so events from an earlier
    page cannot leak into this report.
    """
    if browser is None:
        with chromium(timeout=timeout) as own:
            return check_page(url, own, timeout)

    session = browser.session
    for domain in ("Runtime", "Log", "Network", "Page"):
        session.send(f"{domain}.enable")
    session.send("Network.setCacheDisabled", {"cacheDisabled": True})
    mark = len(session.events)
    session.send("Page.navigate", {"url": "about:blank"})
    session.wait_for("Page.loadEventFired", min(timeout, 5), start=mark)
    session.settle()
    session.events.clear()

    report = PageReport(url=url)
    result = session.send("Page.navigate", {"url": url})
    if result.get("errorText"):
        report.navigation_error = result["errorText"]
        return report
    if session.wait_for("Page.loadEventFired", timeout) is None:
        report.navigation_error = f"no load event within {timeout:.0f} s"
    session.settle()

    evaluated = session.send("Runtime.evaluate", {"expression": _INSPECT, "awaitPromise": True,
                                                  "returnByValue": True}, timeout=timeout)
    if "exceptionDetails" in evaluated:
        raise BrowserError(f"inspecting {url} failed: {evaluated['exceptionDetails']}")
    page = evaluated["result"]["value"]
    session.settle()  # failures of images made eager above
    _read_events(report, session.events)

    report.images = [Image(i["src"], i["complete"], i["naturalWidth"]) for i in page["images"]]
    report.toc_links = page["toc"]
    report.lang = page["lang"]
    report.ids = set(page["ids"])
    report.figures = page["figures"]
    return report


# --- One page on a phone ------------------------------------------------------------------------

#: A common phone's viewport, in CSS px.
PHONE = (390, 800)


@dataclass
class Figure:
    """One figure image as laid out: its file, its natural width and its displayed width (CSS px;
    for an SVG the natural width comes from its ``width`` in pt)."""

    src: str
    natural_width: float
    shown_width: float

    @property
    def scale(self) -> float:
        return self.shown_width / self.natural_width if self.natural_width else 0.0


@dataclass
class Layout:
    """How a page lays out in a viewport ``width`` CSS px wide.

    ``scroll_width`` is the page's (``document.scrollingElement.scrollWidth``) and
    ``inner_width`` the layout viewport's (a phone widens it to fit a page that is too wide);
    ``overflowing``
    names the elements that stick out past the right edge without an ancestor that scrolls
    sideways (``overflow-x: auto|scroll``) to hold them; ``cut_captions`` the (fig)captions that
    reach past the edge of the screen or of their scroll box; ``first_heading_top`` is where the
    page's first ``h1`` starts (CSS px from the top of the page), so a table of contents that does
    not fold away shows as a heading far down."""

    url: str
    width: int
    inner_width: int
    scroll_width: int
    overflowing: list[str] = field(default_factory=list)
    cut_captions: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    first_heading_top: float | None = None

    @property
    def scrolls_sideways(self) -> bool:
        # A phone zooms out to fit a page wider than its screen: innerWidth then grows too.
        return max(self.scroll_width, self.inner_width) > self.width + 1


_LAYOUT = r"""
(async () => {
  await Promise.all(Array.from(document.images).map(i => {
    if (i.loading === 'lazy') i.loading = 'eager';
    return i.complete ? null : new Promise(d => { i.addEventListener('load', d);
                                                   i.addEventListener('error', d); });
  }));
  const vw = %WIDTH%;  // the screen's width (innerWidth grows when a phone zooms out)
  const scroller = e => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') return p;
    }
    return null;
  };
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : '');
  const visible = e => { const s = getComputedStyle(e);
    return s.display !== 'none' && s.visibility !== 'hidden' && e.getClientRects().length > 0; };
  // A fixed header spans the viewport, which a phone widens to fit a page that is too wide:
  // it follows the overflow rather than causing it, so it is not named.
  const fixed = e => { for (let p = e; p && p !== document.body; p = p.parentElement)
    if (getComputedStyle(p).position === 'fixed') return true; return false; };
  const overflowing = [];
  for (const e of document.body.querySelectorAll('*')) {
    if (!visible(e) || fixed(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 1 && !scroller(e)) overflowing.push(`${name(e)} (right ${Math.round(r.right)} px)`);
  }
  const cut = [];
  for (const c of document.querySelectorAll('caption, figcaption')) {
    if (!visible(c)) continue;
    const r = c.getBoundingClientRect(), box = scroller(c);
    const edge = Math.min(vw, box ? box.getBoundingClientRect().right : vw);
    if (r.right > edge + 1) cut.push(`${c.textContent.trim().slice(0, 40)}… (right ${Math.round(r.right)} px, visible to ${Math.round(edge)} px)`);
  }
  const figures = Array.from(document.querySelectorAll('figure img')).filter(visible).map(i => ({
    src: i.currentSrc || i.src, natural: i.naturalWidth, shown: i.getBoundingClientRect().width }));
  const h1 = Array.from(document.querySelectorAll('h1')).find(visible);
  return { inner: window.innerWidth, scroll: document.scrollingElement.scrollWidth, overflowing, cut, figures,
           h1: h1 ? h1.getBoundingClientRect().top + window.scrollY : null };
})()
"""


def layout(url: str, browser: Browser, width: int = PHONE[0], height: int = PHONE[1],
           timeout: float = LOAD_TIMEOUT) -> Layout:
    """Load ``url`` in a viewport of ``width`` × ``height`` CSS px (a phone: mobile emulation, so
    ``<meta name="viewport">`` counts) and measure its :class:`Layout`. The viewport is reset
    afterwards."""
    session = browser.session
    session.send("Page.enable")
    session.send("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 2, "mobile": width < 800})
    try:
        mark = len(session.events)
        session.send("Page.navigate", {"url": url})
        session.wait_for("Page.loadEventFired", timeout, start=mark)
        session.settle()
        expression = _LAYOUT.replace("%WIDTH%", str(int(width)))
        evaluated = session.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                      "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in evaluated:
            raise BrowserError(f"measuring {url} failed: {evaluated['exceptionDetails']}")
        v = evaluated["result"]["value"]
    finally:
        session.send("Emulation.clearDeviceMetricsOverride")
        session.events.clear()
    return Layout(url=url, width=width, inner_width=v["inner"], scroll_width=v["scroll"],
                  overflowing=v["overflowing"], cut_captions=v["cut"],
                  figures=[Figure(f["src"], f["natural"], f["shown"]) for f in v["figures"]],
                  first_heading_top=v["h1"])


# --- A whole book -------------------------------------------------------------------------------


def check_pages(book_dir: Path, timeout: float = LOAD_TIMEOUT) -> dict[Path, PageReport]:
    """A :class:`PageReport` for every ``*.html`` file under ``book_dir`` (one browser for all),
    keyed by the file's resolved path."""
    pages = sorted(p.resolve() for p in Path(book_dir).rglob("*.html"))
    reports: dict[Path, PageReport] = {}
    if not pages:
        return reports
    with chromium(timeout=timeout) as browser:
        for page in pages:
            reports[page] = check_page(page.as_uri(), browser, timeout)
    return reports


def _target(href: str) -> tuple[Path | None, str]:
    """The local file and (decoded) fragment a link points to; no file for non-file URLs."""
    parts = urlsplit(href)
    if parts.scheme != "file":
        return None, unquote(parts.fragment)
    return Path(url2pathname(unquote(parts.path))).resolve(), unquote(parts.fragment)


def book_problems(book_dir: Path, reports: dict[Path, PageReport]) -> list[str]:
    """Readable problems in ``reports`` (from :func:`check_pages` on ``book_dir``)."""
    root = Path(book_dir).resolve()

    def name(path: Path) -> str:
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    if not reports:
        return [f"{root}: no HTML pages"]
    problems: list[str] = []
    toc: dict[str, list[str]] = {}  # the same TOC is on every page: one line per bad link
    for path, report in reports.items():
        page = name(path)
        if report.navigation_error:
            problems.append(f"{page}: did not load: {report.navigation_error}")
        problems += [f"{page}: {text}" for text in report.console]
        problems += [f"{page}: uncaught exception: {text}" for text in report.exceptions]
        problems += [f"{page}: browser error: {text}" for text in report.log_errors]
        failed = dict(report.failed_loads)
        broken = {image.src for image in report.broken_images}
        problems += [f"{page}: broken image {src} ({failed.get(src, 'naturalWidth 0')})"
                     for src in sorted(broken)]
        problems += [f"{page}: failed to load {url}: {why}"
                     for url, why in report.failed_loads if url not in broken]
        if report.navigation_error is None and (report.lang or "").split("-")[0] != "sv":
            problems.append(f'{page}: <html lang="{report.lang or ""}">, expected lang="sv"')
        for href in report.toc_links:
            target, fragment = _target(href)
            link = href if target is None else name(target) + (f"#{fragment}" if fragment else "")
            if target is None:
                problem = "leaves the book"
            elif not target.exists():
                problem = f"{name(target)} does not exist"
            elif target not in reports:
                problem = f"{name(target)} is not a page of the book"
            elif fragment and fragment not in reports[target].ids:
                problem = f"no id={fragment!r} in {name(target)}"
            else:
                continue
            pages = toc.setdefault(f"TOC link to {link}: {problem}", [])
            if page not in pages:
                pages.append(page)
    for problem, pages in toc.items():
        where = "every page" if len(pages) == len(reports) > 1 else ", ".join(pages)
        problems.append(f"{where}: {problem}")
    return problems


def check_book(book_dir: Path, timeout: float = LOAD_TIMEOUT) -> list[str]:
    """Load every ``*.html`` page of the book in headless Chromium; return the problems found
    (console errors, uncaught exceptions, failed loads, broken images, a ``lang`` other than
    Swedish, TOC links to missing pages or ids), one readable line each. Empty means fine."""
    return book_problems(book_dir, check_pages(book_dir, timeout))
