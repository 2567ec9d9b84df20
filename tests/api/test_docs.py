"""The documentation pages load everything from this server, need no key, and their assets
are cached."""

from __future__ import annotations

import re
from importlib.metadata import version

import pytest

from invoiceflow.api.docs import ASSETS, CACHE_CONTROL
from tests.api.conftest import Api

PAGES = ["/docs", "/redoc"]
# Any address in an attribute or a script: an absolute one names a host, a relative one is ours.
REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']*)["']|url\s*:\s*'([^']*)'""")


def references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(html)]


@pytest.mark.parametrize("page", PAGES)
def test_a_docs_page_references_no_other_host(api: Api, page: str) -> None:
    with api.client(None) as anonymous:
        response = anonymous.get(page)
        assert response.status_code == 200
        html = response.text
        assert "http://" not in html and "https://" not in html and "//" not in html
        found = references(html)
        assert f"{ASSETS}/favicon.png" in found and "/openapi.json" in found
        for url in found:
            assert url.startswith("/"), url
            assert anonymous.get(url).status_code == 200, url  # and no key was needed


def test_the_swagger_ui_page_loads_its_bundle_and_styles(api: Api) -> None:
    with api.client(None) as anonymous:
        found = references(anonymous.get("/docs").text)
    assert {f"{ASSETS}/swagger-ui-bundle.js", f"{ASSETS}/swagger-ui.css"} <= set(found)


def test_the_redoc_page_loads_its_bundle_and_no_fonts(api: Api) -> None:
    with api.client(None) as anonymous:
        html = anonymous.get("/redoc").text
    assert f"{ASSETS}/redoc.standalone.js" in references(html)
    assert "fonts" not in html


def test_the_assets_are_cached_for_good_and_revalidated_cheaply(api: Api) -> None:
    with api.client(None) as anonymous:
        script = anonymous.get(f"{ASSETS}/swagger-ui-bundle.js")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert script.headers["cache-control"] == CACHE_CONTROL
        again = anonymous.get(
            f"{ASSETS}/swagger-ui-bundle.js", headers={"If-None-Match": script.headers["etag"]}
        )
        assert again.status_code == 304 and again.headers["cache-control"] == CACHE_CONTROL
        styles = anonymous.get(f"{ASSETS}/swagger-ui.css")
        assert styles.headers["content-type"].startswith("text/css")
        assert anonymous.get(f"{ASSETS}/nothing.js").status_code == 404


def test_the_assets_url_changes_with_their_version() -> None:
    assert ASSETS.endswith(f"/{version('fastapi-offline')}")
