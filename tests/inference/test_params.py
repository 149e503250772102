"""The parameter catalogue: strict types, bounds, cross-field rules, who may set what, batch keys."""

import pytest

from inference.models.presets import TINY_DEFAULTS, default_params
from inference.params import SPECS, GenerationParams, ParamError, Role, refused_for, settable


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        ({"steps": 30.5}, "steps", "whole number"),
        ({"steps": True}, "steps", "whole number"),
        ({"guidance_scale": "7"}, "guidance_scale", "must be a number"),
        ({"adaptive_guidance": "yes"}, "adaptive_guidance", "true or false"),
        ({"adaptive_guidance": 1}, "adaptive_guidance", "true or false"),
        ({"steps": 0}, "steps", "at least 1"),
        ({"steps": 151}, "steps", "at most 150"),
        ({"guidance_scale": 0.5}, "guidance_scale", "at least 1"),
        ({"photomaker_weight": 2.5}, "photomaker_weight", "at most 2"),
        ({"width": 100}, "width", "multiple of 8"),
        ({"height": 4096}, "height", "at most 2048"),
        ({"detailing_strength": 1.5}, "detailing_strength", "at most 1"),
        ({"detailing_resolution": 60}, "detailing_resolution", "multiple of 8"),
        ({"seed": -1}, "seed", "at least 0"),
        ({"seed": 2**31}, "seed", "at most"),
        ({"start_merge_step": 31}, "start_merge_step", "must not exceed steps (30)"),
        ({"sampler": "dpm"}, "sampler", "not a known parameter"),
    ],
)
def test_each_rule_refuses_with_the_field_named(given, field, words):
    with pytest.raises(ParamError) as error:
        GenerationParams.parse(given)
    assert error.value.field == field and words in error.value.message
    assert error.value.message.startswith(field)


def test_numbers_keep_their_kind_and_unset_fields_take_the_defaults():
    params = GenerationParams.parse({"guidance_scale": 7, "steps": 12}, defaults=TINY_DEFAULTS)
    assert params.guidance_scale == 7.0 and isinstance(params.guidance_scale, float)
    assert (params.steps, params.width, params.start_merge_step) == (12, 256, 6)
    assert params.seed is None


def test_the_cross_field_rule_sees_the_defaults_too():
    with pytest.raises(ParamError, match="start_merge_step must not exceed steps \\(4\\)"):
        GenerationParams.parse({"steps": 4}, defaults=TINY_DEFAULTS)  # the preset merges after step 6


def test_replace_validates_again():
    with pytest.raises(ParamError, match="steps"):
        GenerationParams().replace(steps=0)
    assert GenerationParams().replace(seed=5).seed == 5


def test_only_seed_and_identity_weight_may_differ_within_a_batch():
    base = GenerationParams(seed=1)
    assert base.batch_key() == base.replace(seed=2, photomaker_weight=0.3).batch_key()
    for name, value in [("steps", 31), ("guidance_scale", 6.0), ("detailing_padding", 0.2), ("width", 512)]:
        assert base.batch_key() != base.replace(**{name: value}).batch_key(), name
    assert {name for name, spec in SPECS.items() if spec.per_request} == {"seed", "photomaker_weight"}


def test_visitors_set_nothing_staff_and_operators_everything():
    assert settable(Role.VISITOR) == []
    assert settable(Role.STAFF) == settable(Role.OPERATOR) == list(GenerationParams.model_fields)
    assert refused_for(Role.VISITOR, ["steps", "bogus"]) == ["steps"]  # unknown names: the catalogue's
    assert refused_for(Role.OPERATOR, ["steps", "seed"]) == []


def test_specs_carry_what_front_ends_need():
    steps, guidance, adaptive = SPECS["steps"], SPECS["guidance_scale"], SPECS["adaptive_guidance"]
    assert (steps.type, steps.default, steps.minimum, steps.maximum) == ("int", 30, 1, 150)
    assert (guidance.type, guidance.minimum, guidance.maximum) == ("float", 1, 30)
    assert adaptive.type == "bool" and adaptive.minimum is None
    assert SPECS["width"].multiple_of == 8 and SPECS["seed"].maximum == 2**31 - 1
    assert all(spec.help for spec in SPECS.values())
    assert steps.describe() == "steps (int [1..150], default 30): Denoising steps of stage 1 (AYS schedule)."


def test_each_models_source_has_its_defaults():
    assert default_params("tiny") == default_params(None) == default_params("") == TINY_DEFAULTS
    assert default_params("/models") == GenerationParams()


@pytest.mark.parametrize("name", list(SPECS))
def test_a_value_alone_is_checked_as_the_whole_set_checks_it_without_building_one(name):
    """check_value (an operator's sweep refusing a bad value early): the catalogue's type and bounds,
    the same message as parse; the rules between fields are left to the whole set."""
    from inference.params import check_value

    for value in (-1, 0, 1, 2.5, 7, 64, 151, 3000, 10**12, "x", True, None):
        try:
            GenerationParams.parse({name: value})
            whole = None
        except ParamError as error:
            whole = error.message
        try:
            check_value(name, value)
            alone = None
        except ParamError as error:
            alone = error.message
        if whole is not None and "must not exceed steps" in whole:
            assert alone is None
        else:
            assert alone == whole, (name, value)
