"""What visitors do with their portraits: several photos, consent, paint again, delete, and taking them
along at sign-up. Storage is checked file by file: a personal photo is never left behind."""

import io

import pytest
import skimage.data
from django.core.files.base import ContentFile
from PIL import Image

from apps.generation import portraits, services
from apps.generation.errors import Refused
from apps.generation.models import ExtraFace, GenerationJob, JobStatus
from apps.generation.worker import Worker
from apps.sessions_tokens import selectors as token_selectors
from apps.sessions_tokens import services as token_services
from apps.sessions_tokens.errors import InsufficientTokens
from apps.sessions_tokens.models import LedgerEntry, Wallet
from inference.params import Role
from inference.portrait.pipeline import PortraitPipeline
from tests.inference.portrait.test_pipeline import CentredFaceAnalyzer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_limits")]


def png(array) -> ContentFile:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())


def painted(job: GenerationJob) -> GenerationJob:
    """The job as a worker leaves it: taken, then succeeded with a result in storage."""
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, worker_id="w")
    services.job_succeed(
        job=job,
        worker_id="w",
        image=png(skimage.data.astronaut()[::8, ::8]),
        prompt="portrait of a person img, calm",
        negative_prompt="",
        metadata={"mecene": {"chosen": ["quiet dusk", "soft light"]}},
    )
    job.refresh_from_db()
    return job


def stored(settings, *names: str) -> list[bool]:
    return [(settings.MEDIA_ROOT / name).exists() for name in names]


def ledger_balances(*owners) -> bool:
    """Every wallet's balance is the sum of its ledger's deltas."""
    return all(
        sum(LedgerEntry.objects.filter(wallet=w).values_list("delta", flat=True)) == w.balance
        for w in Wallet.objects.filter(pk__in=[token_selectors.wallet_for(o).pk for o in owners])
    )


def test_extra_photos_are_stored_in_order_and_leave_with_a_failed_submission(guest, face_file, settings):
    job = services.job_submit(
        owner=guest, idea="calm", face=face_file(), extra_faces=[face_file(), face_file()]
    )
    extras = list(job.extra_faces.values_list("position", "image"))
    assert extras == [(0, f"faces/{job.id}-2.png"), (1, f"faces/{job.id}-3.png")]
    assert all(stored(settings, job.face_image.name, *(name for _, name in extras)))

    Wallet.objects.filter(guest_session=guest).update(balance=0)
    with pytest.raises(InsufficientTokens):
        services.job_submit(owner=guest, idea="calm", face=face_file(), extra_faces=[face_file()])
    assert len(list((settings.MEDIA_ROOT / "faces").iterdir())) == 3  # only the first job's photos
    assert ExtraFace.objects.count() == 2


def test_three_photos_reach_the_identity_encoder_and_the_score_uses_the_first(guest, tiny_models):
    """The worker hands every photo of the job to the pipeline, the first as the scored one; the
    PhotoMaker ID encoder then sees three ID crops."""
    pipeline = PortraitPipeline(tiny_models, CentredFaceAnalyzer())
    astronaut = skimage.data.astronaut()
    photos = [astronaut, astronaut[:, ::-1].copy(), astronaut[::-1].copy()]
    job = services.job_submit(
        owner=guest, idea="calm", face=png(photos[0]), extra_faces=[png(p) for p in photos[1:]]
    )
    seen_requests, crops = [], []
    original_run = pipeline.run

    def run(requests, **kwargs):
        seen_requests.extend(requests)
        return original_run(requests, **kwargs)

    pipeline.run = run
    hook = pipeline.identity.id_encoder.register_forward_hook(
        lambda m, args, out: crops.append(args[0].shape)
    )
    try:
        Worker(pipeline, mecene=None).run_once()
    finally:
        hook.remove()
    [request] = seen_requests
    assert (request.face_image == photos[0]).all()
    assert [
        (more == photo).all() for more, photo in zip(request.more_face_images, photos[1:], strict=True)
    ] == [
        True,
        True,
    ]
    assert crops and crops[0][:2] == (1, 3)  # [batch, ID crops, 3, H, W]
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.metadata["identity_score"] is not None


def test_withdrawing_consent_is_stored_and_given_back(guest, face_file):
    job = services.job_submit(owner=guest, idea="calm", face=face_file(), wall_consent=True)
    assert job.wall_consent is True
    assert portraits.job_consent_set(job=job, consent=False).wall_consent is False
    assert portraits.job_consent_set(job=job, consent=True).wall_consent is True


def test_deleting_a_portrait_removes_its_files_and_words_and_keeps_the_ledger_line(
    guest, face_file, settings
):
    job = painted(
        services.job_submit(owner=guest, idea="quiet scholar", face=face_file(), extra_faces=[face_file()])
    )
    files = [job.face_image.name, job.result_image.name, job.extra_faces.get().image.name]
    assert all(stored(settings, *files))

    erased = portraits.job_erase(job=job)

    assert not any(stored(settings, *files))
    assert (erased.face_image.name, erased.result_image.name, erased.idea, erased.prompt) == ("", "", "", "")
    assert erased.metadata == {} and erased.params == {} and erased.erased_at is not None
    assert not ExtraFace.objects.exists()
    assert LedgerEntry.objects.filter(reference=f"generation:{job.id}", reason="spend").exists()
    assert ledger_balances(guest) and token_selectors.balance_of(guest) == 4  # a deletion refunds nothing
    assert portraits.job_erase(job=job).erased_at == erased.erased_at  # twice is once


def test_a_portrait_in_the_queue_cannot_be_deleted_until_canceled(guest, face_file, settings):
    job = services.job_submit(owner=guest, idea="calm", face=face_file())
    with pytest.raises(Refused) as refused:
        portraits.job_erase(job=job)
    assert (refused.value.status, refused.value.code) == (409, "still_painting")
    assert stored(settings, job.face_image.name) == [True]
    services.job_cancel(job=job)
    portraits.job_erase(job=job)
    assert stored(settings, job.face_image.name) == [False]


def test_painting_again_keeps_the_photos_idea_and_concept_with_a_new_seed_for_one_token(
    guest, face_file, settings
):
    first = painted(
        services.job_submit(owner=guest, idea="cosmic dreamer", face=face_file(), extra_faces=[face_file()])
    )
    again = portraits.job_paint_again(job=first)
    assert again.pk != first.pk and again.idea == "cosmic dreamer"
    assert again.concept_seed == first.params["seed"]  # the concept the first was painted with
    assert again.params["seed"] != first.params["seed"]
    assert again.face_image.name != first.face_image.name  # its own copies: deleting one keeps the other
    assert (settings.MEDIA_ROOT / again.face_image.name).read_bytes() == (
        settings.MEDIA_ROOT / first.face_image.name
    ).read_bytes()
    assert again.extra_faces.count() == 1
    assert token_selectors.balance_of(guest) == 3

    previewed = painted(services.job_submit(owner=guest, idea="calm", face=face_file(), concept_seed=77))
    assert portraits.job_paint_again(job=previewed).concept_seed == 77


def test_painting_again_after_the_selfie_was_swept_says_so(guest, face_file):
    job = painted(services.job_submit(owner=guest, idea="calm", face=face_file()))
    GenerationJob.objects.filter(pk=job.pk).update(face_image="")
    job.refresh_from_db()
    with pytest.raises(Refused) as refused:
        portraits.job_paint_again(job=job)
    assert refused.value.code == "photos_gone" and "fresh photo" in refused.value.message


def test_staff_paint_again_with_their_parameters(staff_user, face_file):
    Wallet.objects.filter(user=staff_user).update(balance=2)
    job = services.job_submit(
        owner=staff_user, idea="calm", face=face_file(), params={"steps": 4, "seed": 5}, role=Role.STAFF
    )
    again = portraits.job_paint_again(job=painted(job), role=Role.STAFF)
    assert again.params["steps"] == 4 and again.params["seed"] != 5


def test_signing_up_moves_the_guests_portraits_with_the_tokens(guest, face_file, make_user):
    jobs = [
        services.job_submit(owner=guest, idea="calm", face=face_file(), idempotency_key=f"k{i}")
        for i in range(2)
    ]
    user = make_user()
    Wallet.objects.filter(user=user).update(balance=1)
    services.job_submit(owner=user, idea="calm", face=face_file(), idempotency_key="k0")  # the same key

    token_services.link_guest_to_user(session=guest, user=user)

    moved = GenerationJob.objects.filter(pk__in=[j.pk for j in jobs])
    assert all(job.user_id == user.pk and job.guest_session_id is None for job in moved)
    assert set(moved.values_list("idempotency_key", flat=True)) == {None, "k1"}  # k0 stays the account's
    assert token_selectors.balance_of(user) == 3  # the guest's 5 less two portraits
    # A refund of a moved job lands on the account, as its tokens did.
    services.job_cancel(job=jobs[0])
    assert token_selectors.balance_of(user) == 4


def test_a_guest_with_no_tokens_left_still_takes_their_portraits_along(guest, face_file, make_user):
    jobs = [services.job_submit(owner=guest, idea="calm", face=face_file()) for _ in range(5)]
    user = make_user()
    assert token_services.link_guest_to_user(session=guest, user=user) is None  # no tokens to move
    assert GenerationJob.objects.filter(user=user).count() == len(jobs)


def test_a_program_painting_again_hears_of_the_new_job_where_it_heard_of_the_first(
    make_user, staff_user, face_file
):
    from apps.sessions_tokens import api_keys
    from apps.sessions_tokens import services as token_services

    user = make_user()
    token_services.grant(owner=user, amount=4, actor=staff_user, reason="program")
    key = api_keys.api_key_create(user=user, name="batch", scopes=["generations:write"])
    hook = "https://hooks.example.com/narcis"
    first = painted(services.job_submit(owner=user, idea="calm", face=face_file(), webhook_url=hook))
    assert portraits.job_paint_again(job=first, api_key=key.record).webhook_url == hook
    assert portraits.job_paint_again(job=first).webhook_url == ""  # from the page: no webhooks
