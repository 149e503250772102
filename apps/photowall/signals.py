"""A photo deleted (one by one or in bulk from the admin) leaves the wall at once."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from apps.photowall import cache
from apps.photowall.models import Photo


@receiver(post_delete, sender=Photo)
def photo_deleted(sender, instance: Photo, **kwargs):
    instance.image.delete(save=False)
    cache.reload_after_commit()
