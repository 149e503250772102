from django.conf import settings
from django.views.static import serve


def local_result(request, path: str):
    """A finished portrait from local media (MEDIA_ROOT read per request: tests move it)."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)
