"""manage.py sweep_faces: selfies that belong to no job, and those of jobs finished past the retention."""

import datetime as dt
import os

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.generation import services
from apps.generation.models import GenerationJob, JobStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_limits")]


def age(path, hours: float) -> None:
    stamp = (timezone.now() - dt.timedelta(hours=hours)).timestamp()
    os.utime(path, (stamp, stamp))


def finish(job, days_ago: float, status=JobStatus.SUCCEEDED) -> None:
    GenerationJob.objects.filter(id=job.id).update(
        status=status, finished_at=timezone.now() - dt.timedelta(days=days_ago)
    )


def test_orphans_and_expired_selfies_go_everything_else_stays(guest, face_file, settings, capsys):
    settings.FACE_RETENTION_DAYS = 30
    faces = settings.MEDIA_ROOT / "faces"
    queued = services.job_submit(owner=guest, idea="calm", face=face_file())
    old_done = services.job_submit(owner=guest, idea="calm", face=face_file())
    recent_done = services.job_submit(owner=guest, idea="calm", face=face_file())
    finish(old_done, days_ago=31, status=JobStatus.FAILED)
    finish(recent_done, days_ago=29)
    orphan, fresh_orphan = faces / "left-behind.png", faces / "being-submitted.png"
    orphan.write_bytes(b"a selfie"), fresh_orphan.write_bytes(b"a selfie")
    age(orphan, hours=2)
    for job in (queued, old_done, recent_done):
        age(settings.MEDIA_ROOT / job.face_image.name, hours=24 * 40)  # age alone never condemns a job's

    call_command("sweep_faces", "--dry-run")
    assert "would delete faces/left-behind.png (no job)" in capsys.readouterr().out
    assert orphan.exists()

    report = services.faces_sweep()
    assert report.orphans == ["faces/left-behind.png"] and report.expired == [old_done.face_image.name]
    assert not orphan.exists() and fresh_orphan.exists()
    assert not (settings.MEDIA_ROOT / old_done.face_image.name).exists()
    for job in (queued, recent_done):
        assert (settings.MEDIA_ROOT / job.face_image.name).exists()
    old_done.refresh_from_db()
    assert old_done.face_image.name == "" and old_done.status == JobStatus.FAILED
    assert services.faces_sweep() == services.FaceSweep(orphans=[], expired=[])  # nothing twice


def test_a_running_job_keeps_its_selfie_however_old(guest, face_file, settings):
    settings.FACE_RETENTION_DAYS = 1
    job = services.job_submit(owner=guest, idea="calm", face=face_file())
    GenerationJob.objects.filter(id=job.id).update(
        status=JobStatus.RUNNING, created_at=timezone.now() - dt.timedelta(days=90)
    )
    assert services.faces_sweep().expired == []
    assert (settings.MEDIA_ROOT / job.face_image.name).exists()


def test_no_faces_folder_yet_is_fine(settings):
    assert services.faces_sweep() == services.FaceSweep(orphans=[], expired=[])


def test_extra_photos_are_swept_with_their_selfie_and_never_taken_for_orphans(guest, face_file, settings):
    settings.FACE_RETENTION_DAYS = 30
    old = services.job_submit(
        owner=guest, idea="calm", face=face_file(), extra_faces=[face_file(), face_file()]
    )
    recent = services.job_submit(owner=guest, idea="calm", face=face_file(), extra_faces=[face_file()])
    finish(old, days_ago=31)
    finish(recent, days_ago=1)
    for path in (settings.MEDIA_ROOT / "faces").iterdir():
        age(path, hours=24 * 40)  # old files, all named by a job: none is an orphan
    old_extras = [settings.MEDIA_ROOT / name for name in old.extra_faces.values_list("image", flat=True)]
    recent_extra = settings.MEDIA_ROOT / recent.extra_faces.get().image.name

    report = services.faces_sweep()

    assert report.orphans == []
    assert sorted(report.expired) == sorted([old.face_image.name, *(f"faces/{p.name}" for p in old_extras)])
    assert not any(path.exists() for path in old_extras) and not old.extra_faces.exists()
    assert recent_extra.exists() and recent.extra_faces.count() == 1
