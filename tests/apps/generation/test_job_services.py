import datetime as dt

import pytest
from django.utils import timezone

from apps.generation import services
from apps.generation.models import GenerationJob, JobStatus, Priority
from apps.sessions_tokens import selectors as token_selectors
from apps.sessions_tokens import services as tokens
from apps.sessions_tokens.errors import InsufficientTokens
from apps.sessions_tokens.models import GuestSession, LedgerEntry
from inference.params import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_limits")]


def submit(owner, face_file, **extra):
    return services.job_submit(owner=owner, face=face_file(), **{"idea": "corporate confidence", **extra})


def test_submit_spends_one_token_and_queues_the_job_with_its_face(guest, face_file):
    job = submit(guest, face_file)
    assert job.status == JobStatus.QUEUED and job.face_image.name.startswith("faces/")
    assert job.face_image.storage.exists(job.face_image.name)
    assert token_selectors.balance_of(guest) == 4
    assert LedgerEntry.objects.get(reason="spend").reference == job.token_reference


def test_no_token_no_row_no_file(guest, face_file, settings):
    for _ in range(5):
        submit(guest, face_file)
    with pytest.raises(InsufficientTokens):
        submit(guest, face_file)
    assert GenerationJob.objects.count() == 5
    assert len(list((settings.MEDIA_ROOT / "faces").iterdir())) == 5


def test_the_same_idempotency_key_returns_the_same_job_and_spends_once(guest, face_file):
    first = submit(guest, face_file, idempotency_key="abc")
    again = submit(guest, face_file, idempotency_key="abc")
    assert first.pk == again.pk and token_selectors.balance_of(guest) == 4


def test_claim_takes_priority_then_age_and_only_compatible_jobs(guest, face_file, staff_user):
    tokens.grant(owner=staff_user, amount=2, actor=staff_user, reason="operator test batch")
    older = submit(guest, face_file)
    operator_job = submit(staff_user, face_file, role=Role.STAFF)
    newer = submit(guest, face_file)
    other_size = submit(staff_user, face_file, role=Role.STAFF, params={"width": 128})
    assert operator_job.priority == other_size.priority == Priority.OPERATOR and older.priority == 0
    first = services.jobs_claim(worker_id="w1", limit=4, lease_seconds=60)
    assert {j.pk for j in first} == {operator_job.pk, older.pk, newer.pk}  # the head's batch key only
    assert all(j.status == JobStatus.RUNNING and j.attempts == 1 and j.worker_id == "w1" for j in first)
    assert [j.pk for j in services.jobs_claim(worker_id="w2", limit=4, lease_seconds=60)] == [other_size.pk]
    assert services.jobs_claim(worker_id="w3", limit=4, lease_seconds=60) == []


def test_the_operators_job_heads_the_queue(guest, face_file, staff_user):
    tokens.grant(owner=staff_user, amount=1, actor=staff_user, reason="operator test batch")
    submit(guest, face_file)
    operator_job = submit(staff_user, face_file, role=Role.OPERATOR, params={"steps": 5})
    assert [j.pk for j in services.jobs_claim(worker_id="w", limit=4, lease_seconds=60)] == [operator_job.pk]


def test_claim_respects_the_limit(guest, face_file):
    for _ in range(3):
        submit(guest, face_file)
    assert len(services.jobs_claim(worker_id="w", limit=2, lease_seconds=60)) == 2


def test_success_is_recorded_once_and_only_by_the_holder(guest, face_file):
    job = submit(guest, face_file)
    [claimed] = services.jobs_claim(worker_id="w1", limit=1, lease_seconds=60)
    kwargs = {"prompt": "portrait", "negative_prompt": "", "metadata": {"seed": 1}}
    assert not services.job_succeed(job=claimed, worker_id="intruder", image=face_file(), **kwargs)
    assert services.job_succeed(job=claimed, worker_id="w1", image=face_file(), **kwargs)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result_image.name.startswith("productions/")
    assert job.metadata == {"seed": 1} and job.finished_at is not None


def test_a_result_left_by_an_attempt_that_died_before_its_commit_is_replaced_not_orphaned(guest, face_file):
    """A worker killed between uploading the result and committing leaves the object behind; the next
    attempt writes the same name, so every portrait has exactly one result object."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    job = submit(guest, face_file)
    [claimed] = services.jobs_claim(worker_id="w1", limit=1, lease_seconds=60)
    default_storage.save(f"productions/{job.id}.png", ContentFile(b"the dead attempt's upload"))
    kwargs = {"prompt": "portrait", "negative_prompt": "", "metadata": {}}
    assert services.job_succeed(job=claimed, worker_id="w1", image=face_file(), **kwargs)
    job.refresh_from_db()
    assert job.result_image.name == f"productions/{job.id}.png"
    assert job.result_image.read() == face_file().read()
    stored = [name for name in default_storage.listdir("productions")[1] if str(job.id) in name]
    assert stored == [f"{job.id}.png"]


def test_failure_refunds_exactly_once(guest, face_file):
    submit(guest, face_file)
    [job] = services.jobs_claim(worker_id="w1", limit=1, lease_seconds=60)
    assert services.job_fail(job=job, worker_id="w1", message="We could not paint this one.", detail="OOM")
    assert not services.job_fail(job=job, worker_id="w1", message="again")
    job.refresh_from_db()
    assert (job.status, job.error_message, job.error_detail) == (
        JobStatus.FAILED,
        "We could not paint this one.",
        "OOM",
    )
    assert token_selectors.balance_of(guest) == 5
    assert LedgerEntry.objects.filter(reason="refund").count() == 1


def test_cancel_queued_refunds_now_and_running_is_flagged_for_the_worker(guest, face_file):
    queued = submit(guest, face_file)
    assert services.job_cancel(job=queued) == JobStatus.CANCELED
    assert token_selectors.balance_of(guest) == 5
    running = submit(guest, face_file)
    [claimed] = services.jobs_claim(worker_id="w1", limit=1, lease_seconds=60)
    assert services.job_cancel(job=running) == JobStatus.RUNNING
    assert services.job_finish_canceled(job=claimed, worker_id="w1")
    running.refresh_from_db()
    assert running.status == JobStatus.CANCELED and token_selectors.balance_of(guest) == 5


def test_expired_leases_are_requeued_then_failed_and_refunded(guest, face_file):
    job = submit(guest, face_file)
    later = timezone.now() + dt.timedelta(minutes=5)
    assert job.max_attempts == 5
    for attempt in range(1, 6):
        [claimed] = services.jobs_claim(worker_id=f"w{attempt}", limit=1, lease_seconds=60)
        assert claimed.attempts == attempt and claimed.progress_step == 0  # each attempt starts afresh
        GenerationJob.objects.filter(id=job.id).update(progress_step=4)  # its worker painted, then died
        requeued, failed = services.jobs_reap_expired(now=later)
        assert (requeued, failed) == ((1, 0) if attempt < 5 else (0, 1))
        assert not services.job_renew_lease(job=claimed, worker_id=f"w{attempt}", lease_seconds=60)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "token has been returned" in job.error_message
    assert token_selectors.balance_of(guest) == 5


def test_a_worker_that_dies_before_a_step_costs_no_attempt_but_five_such_deaths_fail_the_job(
    guest, face_file
):
    job = submit(guest, face_file)
    later = timezone.now() + dt.timedelta(minutes=5)
    for death in range(1, 5):
        services.jobs_claim(worker_id=f"w{death}", limit=1, lease_seconds=60)
        assert services.jobs_reap_expired(now=later) == (1, 0)
        job.refresh_from_db()
        assert (job.status, job.attempts, job.infra_faults) == (JobStatus.QUEUED, 0, death)
    services.jobs_claim(worker_id="w5", limit=1, lease_seconds=60)
    assert services.jobs_reap_expired(now=later) == (0, 1)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and token_selectors.balance_of(guest) == 5


def test_a_job_handed_back_for_a_fault_of_ours_is_queued_uncounted_until_the_third_time(
    guest, face_file, caplog
):
    job = submit(guest, face_file)
    for fault in range(1, 3):
        [claimed] = services.jobs_claim(worker_id=f"w{fault}", limit=1, lease_seconds=60)
        GenerationJob.objects.filter(id=job.id).update(progress_step=3)
        status = services.job_release(job=claimed, worker_id=f"w{fault}", reason="OperationalError: gone")
        job.refresh_from_db()
        assert status == JobStatus.QUEUED and (job.attempts, job.infra_faults, job.progress_step) == (
            0,
            fault,
            0,
        )
        assert token_selectors.balance_of(guest) == 4 and not job.worker_id and job.lease_expires_at is None
    [claimed] = services.jobs_claim(worker_id="w3", limit=1, lease_seconds=60)
    assert not services.job_release(job=claimed, worker_id="someone-else", reason="x")  # not theirs
    assert services.job_release(job=claimed, worker_id="w3", reason="OperationalError: gone") == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "problem on our side" in job.error_message
    assert "infrastructure fault 3 times" in job.error_detail and token_selectors.balance_of(guest) == 5
    assert any("operator alert" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_a_live_lease_is_left_alone(guest, face_file):
    submit(guest, face_file)
    [claimed] = services.jobs_claim(worker_id="w1", limit=1, lease_seconds=60)
    assert services.jobs_reap_expired() == (0, 0)
    assert services.job_renew_lease(job=claimed, worker_id="w1", lease_seconds=60)


def test_purge_keeps_guest_sessions_with_live_jobs(guest, face_file):
    submit(guest, face_file)
    GuestSession.objects.filter(pk=guest.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    tokens.guest_sessions_purge()
    assert GuestSession.objects.filter(pk=guest.pk).exists()


def test_a_job_that_kills_its_worker_fails_alone_and_its_batch_mates_lose_nothing(
    guest, face_file, staff_user
):
    """Poison isolation: a death in a batch of four charges none of them; each is painted alone next,
    and only the job that kills its worker while alone uses up its attempts."""
    tokens.grant(owner=guest, amount=5, actor=staff_user, reason="more")
    poison, *innocent = [submit(guest, face_file) for _ in range(4)]
    later = timezone.now() + dt.timedelta(minutes=5)
    batch = services.jobs_claim(worker_id="w0", limit=4, lease_seconds=60)
    assert len(batch) == 4 and {job.claimed_with for job in batch} == {4}
    GenerationJob.objects.update(progress_step=3)  # the batch painted three steps, then its worker died
    assert services.jobs_reap_expired(now=later) == (4, 0)
    assert set(GenerationJob.objects.values_list("status", "attempts", "suspect")) == {
        (JobStatus.QUEUED, 0, True)
    }
    newcomer = submit(guest, face_file)  # compatible with them all, but no suspect shares its batch

    deaths, claims = 0, 0
    while GenerationJob.objects.filter(status=JobStatus.QUEUED).exists():
        claims += 1
        claimed = services.jobs_claim(worker_id=f"w{claims}", limit=4, lease_seconds=60)
        if claimed[0].suspect:
            assert len(claimed) == 1 and claimed[0].claimed_with == 1  # alone
        else:
            assert [job.pk for job in claimed] == [newcomer.pk]
        for job in claimed:
            if job.pk == poison.pk:  # it kills every worker that paints it
                GenerationJob.objects.filter(pk=job.pk).update(progress_step=2)
                deaths += 1
                services.jobs_reap_expired(now=later)
            else:
                assert services.job_succeed(
                    job=job,
                    worker_id=job.worker_id,
                    image=face_file(),
                    prompt="p",
                    negative_prompt="",
                    metadata={},
                )

    poison.refresh_from_db()
    assert poison.status == JobStatus.FAILED and deaths == poison.max_attempts == poison.attempts
    assert "painted alone" in poison.error_detail and "token has been returned" in poison.error_message
    for job in [*innocent, newcomer]:
        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)  # the one claim that painted it
    assert token_selectors.balance_of(guest) == 10 - 5 + 1  # five spent, the poison's refunded
