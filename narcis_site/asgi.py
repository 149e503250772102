"""ASGI entry point (served by `python -m narcis_site.serve`, uvicorn): HTTP through Django, after the
guests' fast paths (narcis_site/fast_paths); websockets through channels."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "narcis_site.settings")
django_http = get_asgi_application()  # sets Django up before anything imports models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from inference.models.threads import ProcessKind, size_torch_threads  # noqa: E402
from narcis_site.fast_paths.job_status import StatusFastPath  # noqa: E402
from narcis_site.fast_paths.me import MeFastPath  # noqa: E402
from narcis_site.routing import websocket_urlpatterns  # noqa: E402
from narcis_site.shared_pages import SharedPageCache  # noqa: E402

# The web runs torch only for small models: one thread, the cores stay the workers'. Under `make run` the
# embedded worker paints in this process, which is then the machine's one torch process.
size_torch_threads(ProcessKind.WORKER if settings.EMBEDDED_WORKER else ProcessKind.WEB)

application = ProtocolTypeRouter(
    {
        # The landing page's answer kept a second per process; guests' /api/me and job polls from snapshots.
        "http": SharedPageCache(MeFastPath(StatusFastPath(django_http))),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

if settings.EMBEDDED_WORKER:  # `make run`: the whole product in one process (see apps.generation.embedded)
    from apps.generation.embedded import WithEmbeddedWorker  # noqa: E402

    application = WithEmbeddedWorker(application)
