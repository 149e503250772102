from django.db import migrations, models


def built_when_created(apps, schema_editor):
    # Sessions from before the marker that have jobs were built; one without any never was.
    TestSession = apps.get_model("discord_ops", "TestSession")
    SessionItem = apps.get_model("discord_ops", "SessionItem")
    with_items = SessionItem.objects.values("session_id")
    TestSession.objects.filter(pk__in=with_items).update(built_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("discord_ops", "0003_session_follow_state")]

    operations = [
        migrations.AddField(
            model_name="testsession",
            name="built_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Every job queued: only then is it followed and can it finish.",
                null=True,
            ),
        ),
        migrations.RunPython(built_when_created, migrations.RunPython.noop),
    ]
