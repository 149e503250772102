from django.urls import path

from apps.photowall.views import wall_image, wall_image_version

app_name = "photowall"
urlpatterns = [
    path("<int:photo_id>/<slug:seo_name>.jpg", wall_image, name="image"),
    path("<int:photo_id>/<slug:version>/<slug:seo_name>.jpg", wall_image_version, name="image_version"),
]
