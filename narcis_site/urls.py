from django.contrib import admin
from django.urls import include, path

from narcis_site.api import api
from narcis_site.views import home

admin.site.site_header = "Narcis administration"
admin.site.site_title = "Narcis admin"

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.sessions_tokens.urls")),
    path("api/", api.urls),
]
