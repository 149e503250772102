"""A photo deleted (one by one or in bulk from the admin) leaves the wall at once, and so does every wall
copy of a portrait its owner withdrew (consent withdrawn, portrait or account deleted)."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from apps.generation.signals import portrait_withdrawn
from apps.photowall import cache
from apps.photowall.models import Photo


@receiver(post_delete, sender=Photo)
def photo_deleted(sender, instance: Photo, **kwargs):
    instance.image.delete(save=False)
    cache.forget_thumbnail(instance.pk, instance.etag)
    cache.reload_after_commit()


@receiver(portrait_withdrawn, dispatch_uid="photowall.take_down_withdrawn")
def take_down_withdrawn(sender, job, **kwargs):
    for photo in Photo.objects.filter(source_job_id=job.pk):
        photo.delete()  # photo_deleted above removes the file and its thumbnail
