"""`manage.py ops` end to end on the tiny preset, the worker painting in the same process (--worker):
faces imported, a face test of 2 faces × 2 ideas, every result reported, one saved as a production."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.discord_ops.models import Production
from apps.generation.models import GenerationJob, JobStatus

pytestmark = pytest.mark.django_db(transaction=True)


def ops(*args: str) -> str:
    out = StringIO()
    call_command("ops", "--as", "op@example.com", *args, stdout=out)
    return out.getvalue()


def test_faces_times_ideas_painted_reported_and_one_kept(operator, faces_dir, settings):
    assert "2 photo(s) in faces/team/" in ops("faces", "import", str(faces_dir), "--folder", "team")
    ops("set", "detailing_steps", "3")
    output = ops("test-faces", "team", "1", "--ideas", "corporate confidence,ethereal beauty", "--worker")

    jobs = GenerationJob.objects.filter(user__email="op@example.com")
    assert jobs.count() == 4 and set(jobs.values_list("status", flat=True)) == {JobStatus.SUCCEEDED}
    results = [line for line in output.splitlines() if line.startswith("✓ ")]
    assert len(results) == 4 and all("team/" in line for line in results)
    lines = [line for line in output.splitlines() if line.startswith("session ")]
    assert lines[-1].endswith("· finished") and "4/4" in lines[-1]  # plain lines: not a terminal

    job_id = re.match(r"✓ ([0-9a-f-]{36})", results[0]).group(1)
    assert "saved as production" in ops("save", job_id[:8])
    assert "already saved as production" in ops("save", job_id)
    production = Production.objects.get()
    assert (settings.MEDIA_ROOT / production.image.name).exists()


def test_a_three_by_two_sweep_dry_run_lists_six_combinations(operator, faces_dir, tmp_path):
    ops("faces", "import", str(faces_dir), "--folder", "team")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("ideas: [corporate confidence]\nfaces: [team]\nguidance_scale: [4.0, 5.0, 6.0]\n")
    output = ops("sweep", str(sweep), "--dry-run")
    assert output.splitlines()[0] == "6 combinations (dry run: nothing queued)"
    assert len(output.splitlines()) == 7 and "guidance_scale=5.0" in output
    assert not GenerationJob.objects.exists()


def test_refusals_are_clear_command_errors(operator, make_user, tmp_path):
    with pytest.raises(CommandError, match="not on the operators' list"):
        call_command("ops", "--as", "nobody@example.com", "params", stdout=StringIO())
    with pytest.raises(CommandError, match="Did you mean 'steps'"):
        ops("set", "stepz", "3")
    with pytest.raises(CommandError, match="Cannot read"):
        ops("sweep", str(tmp_path / "missing.yaml"))
    assert "* guidance_scale" not in ops("params")
