"""An operator's sweep validates each combination once (issue 33): a bad value is refused early by the
catalogue's check of that value alone, each combination becomes one GenerationParams, and that object is
what its job stores, not validated again by job_submit."""

import pytest

from apps.discord_ops import services
from apps.discord_ops.errors import OpsError
from apps.generation.models import GenerationJob
from inference.params import MAX_SEED, GenerationParams

pytestmark = pytest.mark.django_db

SWEEP = """
ideas: [calm]
faces: [team]
guidance_scale: [4.0, 5.0, 6.0]
steps: 3
"""


@pytest.fixture
def one_face(faces_dir):
    (faces_dir / "hanks.png").unlink()  # one photo: the sweep's combinations are its three values
    services.folder_import(name="team", directory=faces_dir)


@pytest.fixture
def validations(monkeypatch):
    """Every whole-set validation of GenerationParams (parse, replace and job_submit's resolve use it)."""
    calls = []
    original = GenerationParams.model_validate.__func__

    def counting(cls, *args, **kwargs):
        calls.append(args[0] if args else kwargs)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(GenerationParams, "model_validate", classmethod(counting))
    return calls


def test_a_three_combination_sweep_validates_three_parameter_sets(operator, one_face, validations):
    spec, combinations = services.sweep_combinations(SWEEP)
    assert len(combinations) == 3
    services.session_create(owner=operator, kind="sweep", combinations=combinations, spec={})
    assert len(validations) == 3
    jobs = GenerationJob.objects.all()
    assert sorted(j.params["guidance_scale"] for j in jobs) == [4.0, 5.0, 6.0]
    for job in jobs:  # what was stored is the full, valid set, its seed chosen within the bound
        assert GenerationParams.parse(job.params).model_dump() == job.params
        assert 0 <= job.params["seed"] <= MAX_SEED


def test_reading_a_sweep_builds_no_parameter_set_yet_refuses_a_bad_value(operator, one_face, validations):
    services.sweep_combinations(SWEEP)
    assert validations == []
    with pytest.raises(OpsError, match=r"guidance_scale must be at most 30.0 \(got 31.0\)"):
        services.sweep_combinations(SWEEP.replace("6.0", "31.0"))
    with pytest.raises(OpsError, match=r"steps must be a whole number \(got 2.5\)"):
        services.sweep_combinations(SWEEP.replace("steps: 3", "steps: 2.5"))


def test_a_combination_breaking_a_rule_between_parameters_queues_nothing(operator, one_face):
    spec, combinations = services.sweep_combinations(SWEEP + "start_merge_step: [2, 5]\n")
    with pytest.raises(OpsError, match=r"combination 2 .*start_merge_step must not exceed steps \(3\)"):
        services.session_create(owner=operator, kind="sweep", combinations=combinations, spec={})
    assert not GenerationJob.objects.exists()
