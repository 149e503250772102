"""The operators' console in the admin: the allow-list, parameter sets, face folders, sessions, and the
productions, which staff publish to the PhotoWall with the same action as generations."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.html import format_html

from apps.discord_ops import services
from apps.discord_ops.errors import OpsError
from apps.discord_ops.models import (
    FaceFolder,
    FacePhoto,
    Operator,
    ParameterSet,
    Production,
    SessionItem,
    TestSession,
    VisitorDefaults,
)
from apps.photowall.admin import publish_action


@admin.register(Operator)
class OperatorAdmin(admin.ModelAdmin):
    list_display = ("account", "discord_user_id", "discord_role_id", "active", "note")
    list_filter = ("active",)
    search_fields = ("account__email", "discord_user_id", "discord_role_id")


def _promote(modeladmin, request, sets) -> None:
    if len(sets) != 1:
        modeladmin.message_user(request, "Choose exactly one parameter set.", level=messages.WARNING)
        return
    try:
        services.visitor_defaults_promote(parameter_set=sets[0], actor=request.user)
    except OpsError as error:
        modeladmin.message_user(request, error.message, level=messages.ERROR)
        return
    modeladmin.message_user(request, f"Visitors' portraits are now painted with {sets[0]}.")


def _can_promote(self, request) -> bool:
    return request.user.has_perm(services.PROMOTE_PERMISSION)


@admin.register(ParameterSet)
class ParameterSetAdmin(admin.ModelAdmin):
    list_display = ("owner", "name", "version", "values", "production_mode", "created_at")
    list_filter = ("name",)
    readonly_fields = ("owner", "name", "version", "values", "production_mode", "created_at")
    actions = ("promote",)
    has_promote_permission = _can_promote

    def has_add_permission(self, request):
        return False  # versions come from /set and `ops set`; each one is kept as it was

    @admin.action(description="Promote to the visitors' defaults", permissions=["promote"])
    def promote(self, request, queryset):
        _promote(self, request, list(queryset))


@admin.register(VisitorDefaults)
class VisitorDefaultsAdmin(admin.ModelAdmin):
    """The newest row is in force; promoting an earlier one again is the rollback."""

    list_display = ("parameter_set", "values", "promoted_by", "promoted_at", "note", "in_force")
    readonly_fields = ("parameter_set", "promoted_by", "promoted_at", "note")
    actions = ("promote_again",)
    has_promote_permission = _can_promote

    def has_add_permission(self, request):
        return False  # from a parameter set: "Promote to the visitors' defaults"

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Values")
    def values(self, promotion):
        return promotion.parameter_set.values

    @admin.display(description="In force", boolean=True)
    def in_force(self, promotion):
        return VisitorDefaults.objects.values_list("pk", flat=True).first() == promotion.pk

    @admin.action(description="Make this the visitors' defaults again (rollback)", permissions=["promote"])
    def promote_again(self, request, queryset):
        _promote(self, request, [promotion.parameter_set for promotion in queryset])


class FacePhotoInline(admin.TabularInline):
    model = FacePhoto
    fields = ("thumbnail", "name")
    readonly_fields = ("thumbnail", "name")
    extra = 0
    can_delete = True

    def has_add_permission(self, request, obj=None):
        return False  # photos come through the upload checks: `ops faces import`

    @admin.display(description="Photo")
    def thumbnail(self, photo):
        return format_html('<img src="{}" alt="" width="64" style="height:auto">', photo.image.url)


class ZipUploadForm(forms.Form):
    folder = forms.CharField(max_length=40, help_text="lowercase letters, digits and dashes, e.g. team-a")
    archive = forms.FileField(
        label="Zip of face photos", help_text="JPEG, PNG or WebP; each must show a face"
    )


@admin.register(FaceFolder)
class FaceFolderAdmin(admin.ModelAdmin):
    list_display = ("name", "photo_count", "created_at")
    inlines = (FacePhotoInline,)
    readonly_fields = ("name",)

    def has_add_permission(self, request):
        return request.user.has_perm("discord_ops.add_facefolder")

    def add_view(self, request, form_url="", extra_context=None):
        """Adding a folder is uploading a zip of its photos (every one through the upload checks)."""
        form = ZipUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                photos = services.folder_import_zip(
                    name=form.cleaned_data["folder"], archive=form.cleaned_data["archive"]
                )
            except OpsError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, f"{len(photos)} photo(s) in faces/{form.cleaned_data['folder']}/.")
                return redirect("admin:discord_ops_facefolder_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a face folder",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "discord_ops/admin_zip_upload.html", context)

    @admin.display(description="Photos")
    def photo_count(self, folder):
        return folder.photos.count()


class SessionItemInline(admin.TabularInline):
    model = SessionItem
    fields = ("position", "idea", "face", "varied", "job", "hidden")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(TestSession)
class TestSessionAdmin(admin.ModelAdmin):
    list_display = ("pk", "operator", "kind", "production_mode", "created_at", "canceled_at", "stalled_at")
    list_filter = ("kind", ("stalled_at", admin.EmptyFieldListFilter))
    readonly_fields = (
        "operator",
        "kind",
        "spec",
        "production_mode",
        "created_at",
        "built_at",
        "canceled_at",
        "discord_user_id",
        "stalled_at",
        "stall_reason",
        "announced_at",
    )
    inlines = (SessionItemInline,)


@admin.register(Production)
class ProductionAdmin(admin.ModelAdmin):
    list_display = (
        "thumbnail",
        "mecene_input",
        "face_folder",
        "face_file",
        "seed",
        "identity_score",
        "operator",
        "created_at",
    )
    list_filter = ("face_folder",)
    search_fields = ("mecene_input", "face_folder", "face_file")
    readonly_fields = (
        "preview", "mecene_input", "keywords", "params", "seed", "face_folder", "face_file", "identity_score",
        "saved_from_message", "operator", "source_job", "created_at",
    )  # fmt: skip
    fields = readonly_fields
    actions = (publish_action(lambda productions: [p.source_job for p in productions]),)

    def has_add_permission(self, request):
        return False  # 💾 in Discord, `ops save`, or production mode

    @admin.display(description="Portrait")
    def thumbnail(self, production):
        return format_html('<img src="{}" alt="" width="64" style="height:auto">', production.image.url)

    @admin.display(description="Portrait")
    def preview(self, production):
        return format_html('<img src="{}" alt="" style="max-width:384px;height:auto">', production.image.url)
