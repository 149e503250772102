"""The console's rules, through its services: operators, parameter sets, face folders, sweeps, sessions
and productions."""

import numpy as np
import pytest
from PIL import Image

from apps.discord_ops import selectors, services
from apps.discord_ops.errors import NotAnOperator, OpsError
from apps.discord_ops.models import Operator, ParameterSet, Production, SessionItem
from apps.generation.models import GenerationJob, JobStatus, Priority
from apps.sessions_tokens import selectors as token_selectors
from apps.sessions_tokens.models import LedgerEntry

pytestmark = pytest.mark.django_db

SWEEP = """
ideas: [corporate confidence, ethereal beauty, cyberpunk rebel]
faces: [team]
guidance_scale: [4.0, 6.0]
steps: 3
"""


def test_operators_are_found_by_discord_user_role_or_email_and_no_one_else(operator, make_user, caplog):
    Operator.objects.create(account=operator, discord_role_id="77")
    assert services.operator_account(discord_user_id="1001") == operator
    assert services.operator_account(discord_user_id="9", role_ids=["5", "77"]) == operator
    assert services.operator_account(email="OP@example.com") == operator
    with pytest.raises(NotAnOperator):
        services.operator_account(discord_user_id="9", role_ids=["5"])
    assert "operator console refused" in caplog.text
    visitor = make_user(email="visitor@example.com")
    Operator.objects.create(account=visitor, discord_user_id="2002")  # not staff: never an operator
    with pytest.raises(NotAnOperator):
        services.operator_account(discord_user_id="2002")


def test_set_reset_and_versions(operator):
    services.params_set(owner=operator, name="guidance_scale", value="6")
    services.params_set(owner=operator, name="steps", value="20")
    latest = services.params_set(owner=operator, name="production_mode", value="on")
    assert (
        latest.version == 3
        and latest.values == {"guidance_scale": 6.0, "steps": 20}
        and latest.production_mode
    )
    lines, production_mode, version = selectors.params_overview(operator)
    changed = {line.name: line.value for line in lines if line.changed}
    assert changed == {"guidance_scale": 6.0, "steps": 20} and production_mode and version == 3
    assert services.params_reset(owner=operator, name="steps").values == {"guidance_scale": 6.0}
    everything = services.params_reset(owner=operator)
    assert everything.values == {} and not everything.production_mode
    assert ParameterSet.objects.filter(owner=operator).count() == 5  # every version kept


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("guidence_scale", "6", "Did you mean 'guidance_scale'?"),
        ("steps", "many", r"steps must be a whole number \(got 'many'\)"),
        ("steps", "999", "steps must be at most 150"),
        ("start_merge_step", "90", "start_merge_step"),
        ("adaptive_guidance", "maybe", "must be true or false"),
    ],
)
def test_bad_values_are_refused_with_the_catalogues_words(operator, name, value, says):
    with pytest.raises(OpsError, match=says):
        services.params_set(owner=operator, name=name, value=value)
    assert not ParameterSet.objects.exists()


@pytest.mark.parametrize("name", ["Team", "../etc", "team_a", "-team", "a" * 41, ""])
def test_face_folder_names_are_plain(faces_dir, name):
    with pytest.raises(OpsError, match="not a folder name"):
        services.folder_import(name=name, directory=faces_dir)


def test_a_photo_without_a_face_is_refused_by_name_and_nothing_is_imported(faces_dir, settings):
    Image.fromarray(np.full((200, 200, 3), 90, dtype=np.uint8)).save(faces_dir / "wall.png")
    with pytest.raises(OpsError, match="wall.png: We could not find a face"):
        services.folder_import(name="team", directory=faces_dir)
    assert not (settings.MEDIA_ROOT / "faces").exists()


def test_a_folder_is_imported_cleaned(faces_dir, settings):
    photos = services.folder_import(name="team", directory=faces_dir)
    assert [p.name for p in photos] == ["astronaut", "hanks"]
    assert (settings.MEDIA_ROOT / "faces" / "team" / "astronaut.png").exists()
    assert selectors.folder_photos(["team"]) == {"team": ["astronaut", "hanks"]}


def test_a_sweep_expands_its_lists_and_queues_one_job_each_at_operator_priority(operator, faces_dir):
    services.folder_import(name="team", directory=faces_dir)
    services.params_set(owner=operator, name="detailing_steps", value="3")
    spec, combinations = services.sweep_combinations(SWEEP)
    assert len(combinations) == 3 * 2 * 2  # ideas × faces (two photos) × guidance
    session = services.session_create(owner=operator, kind="sweep", combinations=combinations, spec={})
    jobs = GenerationJob.objects.filter(ops_item__session=session)
    assert jobs.count() == 12 and set(jobs.values_list("priority", flat=True)) == {Priority.OPERATOR}
    assert {j.params["guidance_scale"] for j in jobs} == {4.0, 6.0}
    assert {j.params["steps"] for j in jobs} == {3} and {j.params["detailing_steps"] for j in jobs} == {3}
    # Paid from the operator budget, one ledger line per job, no visitor token anywhere.
    assert token_selectors.balance_of(operator) == 0
    assert LedgerEntry.objects.filter(wallet__user=operator, reason="spend").count() == 12


@pytest.mark.parametrize(
    "text, says",
    [
        ("ideas: [a\nfaces: [team]", "line 2, column"),
        ("ideas: [calm]\nfaces: [team]\nguidence_scale: [1, 2]", "Did you mean 'guidance_scale'"),
        ("ideas: [calm]\nfaces: [team]\nsteps: [3, 500]", "steps must be at most 150"),
        ("ideas: [calm]\nfaces: [nobody]", "No face folder 'nobody'"),
        ("faces: [team]", "needs 'ideas'"),
        (
            "ideas: [calm]\nfaces: [team]\nseeds: " + str(list(range(101))),
            "202 combinations; the limit is 200",
        ),
    ],
)
def test_bad_sweeps_say_what_and_where(operator, faces_dir, text, says):
    services.folder_import(name="team", directory=faces_dir)
    with pytest.raises(OpsError, match=says.replace("(", r"\(").replace("[", r"\[")):
        services.sweep_combinations(text)


def test_a_bad_idea_queues_nothing(operator, faces_dir):
    services.folder_import(name="team", directory=faces_dir)
    combinations = services.test_faces_combinations(
        folders=["team"], ideas=["calm", "two words <b>"], per_input=1
    )
    with pytest.raises(OpsError, match="two words <b>"):
        services.session_create(owner=operator, kind="test", combinations=combinations, spec={})
    assert not GenerationJob.objects.exists()


def test_saving_a_result_twice_keeps_one_production(operator, faces_dir, settings):
    services.folder_import(name="team", directory=faces_dir)
    combinations = services.test_faces_combinations(folders=["team"], ideas=["calm"], per_input=1)
    session = services.session_create(owner=operator, kind="test", combinations=combinations, spec={})
    item = SessionItem.objects.filter(session=session).first()
    with pytest.raises(OpsError, match="only finished portraits"):
        services.production_save(job=item.job, operator=operator)
    _finish(item.job)
    first, created = services.production_save(
        job=item.job, operator=operator, message_link="https://discord/1"
    )
    again, created_again = services.production_save(job=item.job, operator=operator)
    assert created and not created_again and first.pk == again.pk and Production.objects.count() == 1
    assert first.image.name == f"productions/saved/{first.pk}.png"
    assert (settings.MEDIA_ROOT / first.image.name).exists()
    assert (first.face_folder, first.face_file, first.mecene_input) == ("team", item.face.name, "calm")
    assert first.seed == item.job.params["seed"] and first.saved_from_message == "https://discord/1"


def test_cancel_stops_a_sessions_queued_jobs_with_their_tokens_back(operator, faces_dir):
    services.folder_import(name="team", directory=faces_dir)
    combinations = services.test_faces_combinations(folders=["team"], ideas=["calm"], per_input=2)
    session = services.session_create(owner=operator, kind="test", combinations=combinations, spec={})
    assert services.session_cancel(session=session) == 4
    summary = selectors.session_summary(session)
    assert summary.canceled == 4 and summary.finished
    assert token_selectors.balance_of(operator) == 4


def _finish(job):
    from django.core.files.base import ContentFile

    from apps.generation import services as generation

    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, worker_id="w")
    with job.face_image.open("rb") as handle:
        image = ContentFile(handle.read())
    generation.job_succeed(job=job, worker_id="w", image=image, prompt="p", negative_prompt="", metadata={})
    job.refresh_from_db()
