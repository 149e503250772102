"""Productions in the admin: thumbnails for staff only, and the same publish action as generations
(operators' own test faces: no visitor consent needed)."""

import pytest
from django.test import Client

from apps.discord_ops import services
from apps.discord_ops.models import SessionItem
from apps.photowall.models import Photo
from tests.apps.discord_ops.test_services import _finish

pytestmark = pytest.mark.django_db(transaction=True)
CHANGELIST = "/admin/discord_ops/production/"


@pytest.fixture
def production(operator, faces_dir):
    services.folder_import(name="team", directory=faces_dir)
    combinations = services.test_faces_combinations(folders=["team"], ideas=["calm"], per_input=1)
    session = services.session_create(owner=operator, kind="test", combinations=combinations, spec={})
    item = SessionItem.objects.filter(session=session).first()
    _finish(item.job)
    return services.production_save(job=item.job, operator=operator)[0]


def test_staff_publish_a_production_to_the_wall(client, staff_user, production):
    client.force_login(staff_user)
    listing = client.get(CHANGELIST).content.decode()
    assert production.image.url in listing
    assert client.get(production.image.url).status_code == 200
    response = client.post(
        CHANGELIST,
        {
            "action": "publish_to_wall",
            "apply": "1",
            "new_celebrity": "Team",
            "_selected_action": [production.pk],
        },
        follow=True,
    )
    assert "1 portrait(s) published on Team" in response.content.decode()
    assert Photo.objects.get().source_job_id == production.source_job_id


def test_productions_and_test_faces_are_not_public(production):
    visitor = Client()
    assert visitor.get(production.image.url).status_code == 302  # to the admin login
    assert visitor.get("/media/faces/team/astronaut.png").status_code == 302


def _zip(files: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def test_staff_upload_a_face_folder_as_a_zip(client, staff_user, faces_dir, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.discord_ops.models import FacePhoto

    client.force_login(staff_user)
    photos = {f"nested/../{p.name}": p.read_bytes() for p in faces_dir.iterdir()}  # path tricks are dropped
    archive = SimpleUploadedFile("team.zip", _zip(photos), content_type="application/zip")
    response = client.post(
        "/admin/discord_ops/facefolder/add/", {"folder": "team", "archive": archive}, follow=True
    )
    assert "2 photo(s) in faces/team/" in response.content.decode()
    assert sorted(FacePhoto.objects.values_list("name", flat=True)) == ["astronaut", "hanks"]
    assert (settings.MEDIA_ROOT / "faces" / "team" / "hanks.png").exists()

    blank = SimpleUploadedFile("x.zip", _zip({"wall.png": _blank_png()}), content_type="application/zip")
    refused = client.post("/admin/discord_ops/facefolder/add/", {"folder": "walls", "archive": blank})
    assert "wall.png: We could not find a face" in refused.content.decode()
    not_zip = SimpleUploadedFile("x.zip", b"not a zip", content_type="application/zip")
    assert (
        "not a zip file"
        in client.post(
            "/admin/discord_ops/facefolder/add/", {"folder": "walls", "archive": not_zip}
        ).content.decode()
    )


def _blank_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), (90, 90, 90)).save(buffer, format="PNG")
    return buffer.getvalue()
