from django.urls import path

from apps.photowall.views import wall_image

app_name = "photowall"
urlpatterns = [
    path("<int:photo_id>/<slug:seo_name>.jpg", wall_image, name="image"),
]
