"""The PhotoWall: curated portraits, grouped by the celebrity (or guest of honour) they portray."""

from django.db import models


class Celebrity(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "celebrities"

    def __str__(self):
        return self.name


class Photo(models.Model):
    image = models.ImageField(upload_to="photowall/")
    seo_name = models.SlugField(
        max_length=150, unique=True, help_text="File name for search engines: celebrity and keywords."
    )
    caption = models.CharField(max_length=300, help_text="The mecene keywords of the portrait.")
    celebrity = models.ForeignKey(Celebrity, on_delete=models.PROTECT, related_name="photos")
    source_job = models.ForeignKey(
        "generation.GenerationJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published = models.BooleanField(default=True, db_index=True)
    is_demo = models.BooleanField(
        default=False, help_text="Seeded by `make run` from packaged photos with the tiny offline models."
    )
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveIntegerField(default=0)
    etag = models.CharField(max_length=64, help_text="SHA-256 prefix of the image bytes.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.seo_name
