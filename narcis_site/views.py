from django.conf import settings
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.static import serve

from narcis_site.api_errors import error_body


def local_result(request, path: str):
    """A finished portrait from local media (MEDIA_ROOT read per request: tests move it)."""
    try:
        return serve(request, path, document_root=settings.MEDIA_ROOT)
    except OSError:  # a name the filesystem cannot hold (too long, say) names no file
        raise Http404 from None


@csrf_exempt  # nothing to protect: it only answers 404
def api_not_found(request):
    """Any /api/ path that names no operation, whatever the method."""
    message = "No such API operation. The list is at /api/docs."
    return JsonResponse(error_body("not_found", message), status=404)
