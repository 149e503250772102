"""Staff curation: publish generations to the wall, (un)publish and delete photos, see the wall cache."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html

from apps.generation import admin as generation_admin
from apps.photowall import cache, services
from apps.photowall.models import Celebrity, Photo


@admin.register(Celebrity)
class CelebrityAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "published_photos")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}

    @admin.display(description="Published photos")
    def published_photos(self, celebrity):
        return celebrity.photos.filter(published=True).count()


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "seo_name", "celebrity", "caption", "published", "demo_label", "size_bytes")
    list_filter = ("published", "is_demo", "celebrity")
    search_fields = ("seo_name", "caption", "celebrity__name")
    actions = ("publish", "unpublish", "reload_cache")
    readonly_fields = (
        "preview",
        "seo_name",
        "width",
        "height",
        "size_bytes",
        "etag",
        "source_job",
        "is_demo",
    )
    fields = ("preview", "caption", "celebrity", "published") + readonly_fields[1:]

    def has_add_permission(self, request):
        return False  # photos come from published generations or `manage.py photowall --import`

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "title": f"PhotoWall photos · cache: {_stats_line()}"}
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        cache.reload_after_commit()  # caption or published changed: the wall follows

    @admin.display(description="Photo")
    def thumbnail(self, photo):
        return format_html('<img src="{}" alt="" width="64" style="height:auto">', photo.image.url)

    @admin.display(description="Photo")
    def preview(self, photo):
        return format_html('<img src="{}" alt="" style="max-width:384px;height:auto">', photo.image.url)

    @admin.display(description="Demo")
    def demo_label(self, photo):
        return format_html("<strong>{}</strong>", "DEMO DATA") if photo.is_demo else ""

    @admin.action(description="Publish on the wall", permissions=["change"])
    def publish(self, request, queryset):
        count = services.photos_set_published(queryset, True)
        self.message_user(request, f"{count} photo(s) published; the wall cache reloads.")

    @admin.action(description="Unpublish from the wall", permissions=["change"])
    def unpublish(self, request, queryset):
        count = services.photos_set_published(queryset, False)
        self.message_user(request, f"{count} photo(s) unpublished; the wall cache reloads.")

    @admin.action(description="Reload the wall cache now", permissions=["change"])
    def reload_cache(self, request, queryset):
        cache.reload()
        self.message_user(request, f"Wall cache reloaded: {_stats_line()}.")


def _stats_line() -> str:
    stats = cache.stats()
    if not stats["loaded"]:
        return "not loaded yet"
    return f"{stats['images']} images, {stats['bytes'] / 1024:.0f} KiB, loaded {stats['loaded'][:19]} UTC"


class PublishForm(forms.Form):
    celebrity = forms.ModelChoiceField(Celebrity.objects.all(), required=False)
    new_celebrity = forms.CharField(max_length=100, required=False, label="…or a new celebrity")

    def clean(self):
        data = super().clean()
        if not data.get("celebrity") and not (data.get("new_celebrity") or "").strip():
            raise forms.ValidationError("Choose a celebrity or name a new one.")
        return data


def publish_action(jobs_of=list):
    """The admin action "Publish to the PhotoWall…" for a list whose rows are (or lead to) generations:
    `jobs_of(queryset)` gives each row's job, in order (None where a row has none). A form step asks for
    the celebrity first; each portrait is published or refused with its reason (no consent, unfinished)."""

    @admin.action(description="Publish to the PhotoWall…")
    def publish_to_wall(modeladmin, request, queryset):
        rows = list(zip(queryset, jobs_of(queryset), strict=True))
        form = PublishForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            celebrity = form.cleaned_data["celebrity"] or services.celebrity_get_or_create(
                form.cleaned_data["new_celebrity"]
            )
            published, refused = 0, []
            for row, job in rows:
                try:
                    if job is None:
                        raise services.PublishError(f"{row} has no generation left to publish.")
                    services.job_publish(job=job, celebrity=celebrity)
                    published += 1
                except services.PublishError as error:
                    refused.append(str(error))
            modeladmin.message_user(request, f"{published} portrait(s) published on {celebrity}'s wall.")
            for reason in refused:
                modeladmin.message_user(request, reason, level=messages.WARNING)
            return None
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": "Publish to the PhotoWall",
            "rows": rows,
            "form": form,
            "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "photowall/admin_publish.html", context)

    return publish_to_wall


publish_to_wall = publish_action()
generation_admin.add_action(publish_to_wall, permission="photowall.add_photo")
