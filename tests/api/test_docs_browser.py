"""The documentation pages render in a real browser that can reach nothing but our server.

Chromium is Debian's (``make test`` installs it when it may); Playwright drives it, and never
downloads a browser of its own. Without chromium these tests skip, but fail under CI, where
it must be there. Every request to another host is refused twice over: no name resolves, and
the page's requests to any host but 127.0.0.1 are aborted and remembered.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Route,
    expect,
    sync_playwright,
)

from tests.api.conftest import Api

CHROMIUM = shutil.which("chromium")
# Nothing resolves but the loopback address our server listens on.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
RENDER = 10_000  # ms a page may take to show the operations


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        reason = "no chromium (make test installs it when root: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=[OFFLINE])
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Traffic:
    """What a page asked for that it should not have, or did not get."""

    elsewhere: list[str] = field(default_factory=list)  # asked another host
    failed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # answered 4xx or 5xx
    errors: list[str] = field(default_factory=list)
    # what the page's Content-Security-Policy kept the browser from asking for at all
    by_policy: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, list[str]]:
        kinds = ("elsewhere", "failed", "refused", "errors")
        return {kind: getattr(self, kind) for kind in kinds if getattr(self, kind)}

    def failure(self, request: Request) -> None:
        if request.failure == "csp":
            self.by_policy.append(request.url)
        else:
            self.failed.append(f"{request.url}: {request.failure}")

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" not in message.text:
            self.errors.append(message.text)


def offline_page(browser: Browser) -> tuple[Page, Traffic]:
    traffic = Traffic()
    context = browser.new_context()

    def only_ours(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            traffic.elsewhere.append(request.url)
            route.abort("blockedbyclient")

    context.route("**/*", only_ours)
    page = context.new_page()
    page.on("requestfailed", traffic.failure)
    page.on("response", lambda r: r.status >= 400 and traffic.refused.append(f"{r.status} {r.url}"))
    page.on("pageerror", lambda e: traffic.errors.append(str(e)))
    page.on("console", traffic.console)
    return page, traffic


def operations(api: Api) -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every documented operation."""
    spec = httpx.get(f"{api.url}/openapi.json").json()
    return [
        (method, path, operation["operationId"])
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


def test_swagger_ui_shows_the_operations_with_no_internet(browser: Browser, api: Api) -> None:
    page, traffic = offline_page(browser)
    page.goto(f"{api.url}/")  # the root leads to /docs
    assert urlsplit(page.url).path == "/docs"
    upload = page.locator('.opblock-post .opblock-summary-path[data-path="/v1/containers"]')
    expect(upload).to_be_visible(timeout=RENDER)
    expect(page.locator(".opblock")).to_have_count(len(operations(api)))
    page.wait_for_load_state("networkidle")
    assert traffic.problems() == {} and traffic.by_policy == []
    page.context.close()


def test_redoc_shows_the_operations_with_no_internet(browser: Browser, api: Api) -> None:
    page, traffic = offline_page(browser)
    page.goto(f"{api.url}/redoc")
    documented = operations(api)
    upload = next(o for m, p, o in documented if (m, p) == ("post", "/v1/containers"))
    expect(page.locator(f'[id="operation/{upload}"]')).to_be_attached(timeout=RENDER)
    expect(page.locator('[id^="operation/"]')).to_have_count(len(documented))
    page.wait_for_load_state("networkidle")
    assert traffic.problems() == {}
    # ReDoc's menu wants Redocly's logo from their CDN; the page's policy keeps it from asking
    assert all(urlsplit(url).hostname == "cdn.redoc.ly" for url in traffic.by_policy)
    page.context.close()
