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
