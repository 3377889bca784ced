"""The API's OpenAPI document, built when first asked for and completed on every build.

Litestar builds the document lazily (on the first ``/schema`` request or ``app.openapi_schema``)
and has no hook for changing it afterwards. The app's additions (error answers, strict bodies,
query-parameter constraints, Idempotency-Key) used to be applied right after ``Litestar(...)``,
which forced a build in every ``create_app``: ~30 ms of CPU, a sixth of building an app, paid by
each of the hundreds of apps a test run builds, most of which never read the document. Here they
run inside the build itself, so the document is the same whenever it is built (and stays complete
if Litestar rebuilds it, as it does when a route is registered later); the server still builds it
at start-up (app/asgi.py), so a document that cannot be built stops the server there.
"""

from __future__ import annotations

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.spec import OpenAPI

from app.lib.idempotency import document_idempotency
from app.lib.openapi_errors import declare_strict_bodies, document_errors, tidy_query_parameters


class _CompletedOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin, with the app's additions applied to each document it builds."""

    __slots__ = ()  # the same layout as OpenAPIPlugin, so an instance's class can be switched

    def _build_openapi(self) -> OpenAPI:
        openapi = super()._build_openapi()
        document_errors(openapi)
        declare_strict_bodies(openapi)
        tidy_query_parameters(openapi)
        document_idempotency(openapi)
        return openapi


def complete_openapi_on_build(app: Litestar) -> None:
    """Make ``app``'s OpenAPI document carry the app's additions, without building it now."""
    plugin = app.plugins.get(OpenAPIPlugin)
    # Litestar creates its OpenAPIPlugin inside Litestar.__init__ and offers no way to supply
    # another; its /schema handlers hold this very instance, so it is the instance that changes.
    plugin.__class__ = _CompletedOpenAPIPlugin
