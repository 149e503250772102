"""Rows queued before the catalogue stored only the fields staff set, and no seed; rows stored before a
field joined the catalogue lack that field. Upgraded once here to what the worker made of them, so every
row holds its parameters resolved and the worker reads them without guessing (issue 33, item 3).

The logic is frozen here, not imported from job_params: a migration must mean the same thing forever.
A row whose fields are not valid is left as it is: the worker fails it alone, with a refund.
"""

from django.conf import settings
from django.db import migrations

from inference.models.presets import default_params
from inference.params import MAX_SEED, GenerationParams, ParamError


def resolve_legacy_params(apps, schema_editor):
    jobs = apps.get_model("generation", "GenerationJob")
    rows = jobs.objects.exclude(params__has_keys=list(GenerationParams.model_fields))
    if not rows.exists():
        return  # a new database: nothing to read the models folder for
    defaults = default_params(settings.NARCIS_MODELS_DIR)
    for job in rows.iterator():
        try:
            resolved = _as_the_worker_read_it(job, defaults)
        except ParamError:
            continue
        job.params, job.batch_key = resolved.model_dump(), resolved.batch_key()
        job.save(update_fields=["params", "batch_key"])


def _as_the_worker_read_it(job, defaults: GenerationParams) -> GenerationParams:
    """A row with its seed: the catalogue's defaults filled what it lacked (a field added since); one
    without: its fields over the models' defaults, the seed from the job's id."""
    params = job.params or {}
    if "seed" in params:
        return GenerationParams.parse(params)
    return GenerationParams.parse(params, defaults=defaults).replace(seed=job.id.int % (MAX_SEED + 1))


class Migration(migrations.Migration):
    dependencies = [("generation", "0009_photo_uploads")]

    operations = [migrations.RunPython(resolve_legacy_params, migrations.RunPython.noop, elidable=True)]
