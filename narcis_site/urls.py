from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import include, path, re_path

from apps.photowall.views import landing, robots_txt
from narcis_site.api import api
from narcis_site.views import api_not_found, local_result

admin.site.site_header = "Narcis administration"
admin.site.site_title = "Narcis admin"

urlpatterns = [
    path("", landing, name="home"),
    path("robots.txt", robots_txt),
    path("wall/", include("apps.photowall.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.sessions_tokens.urls")),
    path("portraits/", include("apps.generation.urls")),
    path("api/", api.urls),
    re_path(r"^api/", api_not_found),  # after every operation: the API's own 404 shape, not an HTML page
]

if "FileSystemStorage" in settings.STORAGES["default"]["BACKEND"]:
    # Local media (make run; S3 serves presigned URLs instead). Results are served under their
    # unguessable UUID names; wall originals, operators' productions and their test-face folders to
    # staff only (the public wall gets cached thumbnails); visitors' selfies (faces/<id>.png) are never
    # served to anyone.
    urlpatterns += [
        re_path(r"^media/(?P<path>productions/[^/]+)$", local_result),
        re_path(r"^media/(?P<path>photowall/[^/]+)$", staff_member_required(local_result)),
        re_path(r"^media/(?P<path>productions/saved/[^/]+)$", staff_member_required(local_result)),
        re_path(r"^media/(?P<path>faces/[a-z0-9-]+/[^/]+)$", staff_member_required(local_result)),
    ]
