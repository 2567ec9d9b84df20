"""The API's documentation pages: Swagger UI at ``/docs`` and ReDoc at ``/redoc``.

FastAPI's own pages load their scripts, styles, favicon (and ReDoc's fonts) from public
CDNs, so on a machine with no internet they stay blank. Here the pages load everything from
this server: the Swagger UI and ReDoc bundles shipped in the ``fastapi-offline`` package,
mounted as static files. No page nor asset needs an API key (the guard only asks for one
under ``/v1/``).

The assets' URL carries the package's version, so they can be cached for good: an upgrade
changes the URL, never the content behind one.
"""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

SWAGGER_UI = "/docs"
REDOC = "/redoc"
ASSETS = f"/docs/assets/{version('fastapi-offline')}"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
CACHE_CONTROL = "public, max-age=31536000, immutable"
# Swagger UI's defaults, less its online validator: the badge (in the layouts that show one)
# would ask a public service to fetch and check our document.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}
# ReDoc's menu shows Redocly's logo from their CDN, whatever its options say (and hides it when
# it does not load). The browser is told not to ask for images from anywhere else.
REDOC_POLICY = "img-src 'self' data:"


class Assets(StaticFiles):
    """Static files with a cache header: their URL changes whenever their content can."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response


def install(app: FastAPI) -> None:
    """Serve the documentation pages and their assets. The app is to be made with
    ``docs_url=None, redoc_url=None``, which turns FastAPI's CDN-bound pages off."""
    app.mount(ASSETS, Assets(directory=ASSETS_DIR), name="docs-assets")

    @app.get(SWAGGER_UI, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get(REDOC, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = REDOC_POLICY
        return page


def _root(request: Request) -> str:
    """The prefix a proxy serves the app under, as FastAPI's own pages honour it."""
    return str(request.scope.get("root_path", "")).rstrip("/")
