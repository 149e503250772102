from django.urls import path

from apps.generation import views

app_name = "portraits"
urlpatterns = [
    path("", views.portrait_list, name="list"),
    path("<uuid:job_id>/thumbnail.jpg", views.portrait_thumbnail, name="thumbnail"),
    path("<uuid:job_id>/<slug:action>/", views.portrait_action, name="action"),
]
