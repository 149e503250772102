"""Rows queued before the catalogue stored only the fields staff set, and no seed; rows stored before a
field joined the catalogue lack that field. Upgraded once here to what the worker made of them, so every
row holds its parameters resolved and the worker reads them without guessing (issue 33, item 3).

The upgrade is written out here, not imported from job_params (a migration must mean the same thing
forever); it reads the catalogue as it is when it runs. A row whose fields are not valid is left as it
is and counted in the migration's output: the worker fails it alone, with a refund.
"""

from django.conf import settings
from django.db import migrations
from django.db.models import Q

from inference.models.presets import default_params
from inference.params import MAX_SEED, GenerationParams, ParamError


def resolve_legacy_params(apps, schema_editor):
    jobs = apps.get_model("generation", "GenerationJob")
    complete = Q(params__has_keys=list(GenerationParams.model_fields)) & ~Q(params__seed=None)
    rows = jobs.objects.exclude(complete)
    if not rows.exists():
        return  # a new database: nothing to read the models folder for
    defaults = default_params(settings.NARCIS_MODELS_DIR)
    left = 0
    for job in rows.iterator(chunk_size=500):
        try:
            resolved = _as_the_worker_read_it(job, defaults)
        except ParamError:
            left += 1
            continue
        job.params, job.batch_key = resolved.model_dump(), resolved.batch_key()
        job.save(update_fields=["params", "batch_key"])
    if left:
        print(f"  {left} job(s) with parameters that are not valid left as they are: each fails alone")


def _as_the_worker_read_it(job, defaults: GenerationParams) -> GenerationParams:
    """A row with its seed: the catalogue's defaults filled what it lacked (a field added since); one
    without: its fields over the models' defaults, the seed from the job's id."""
    params = job.params or {}
    if params.get("seed") is not None:
        return GenerationParams.parse(params)
    return GenerationParams.parse(params, defaults=defaults).replace(seed=job.id.int % (MAX_SEED + 1))


class Migration(migrations.Migration):
    dependencies = [("generation", "0009_photo_uploads")]

    operations = [migrations.RunPython(resolve_legacy_params, migrations.RunPython.noop, elidable=False)]
