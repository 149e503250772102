from django.db import migrations, models


def announce_old_sessions(apps, schema_editor):
    # Sessions that ended before the bot announced ends are not announced now, days later.
    TestSession = apps.get_model("discord_ops", "TestSession")
    SessionItem = apps.get_model("discord_ops", "SessionItem")
    unposted = SessionItem.objects.filter(result_message_id="").values("session_id")
    TestSession.objects.exclude(pk__in=unposted).update(announced_at=models.functions.Now())


class Migration(migrations.Migration):
    dependencies = [("discord_ops", "0002_visitor_defaults")]

    operations = [
        migrations.AddField(
            model_name="testsession",
            name="discord_user_id",
            field=models.CharField(
                blank=True,
                help_text="Who started it on Discord: mentioned at the end, told of a stall.",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="testsession",
            name="failed_passes",
            field=models.PositiveIntegerField(default=0, help_text="The bot's failed passes in a row."),
        ),
        migrations.AddField(
            model_name="testsession",
            name="stalled_at",
            field=models.DateTimeField(blank=True, help_text="The bot gave up following it.", null=True),
        ),
        migrations.AddField(
            model_name="testsession",
            name="stall_reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="testsession",
            name="announced_at",
            field=models.DateTimeField(blank=True, help_text="Its end was announced.", null=True),
        ),
        migrations.RunPython(announce_old_sessions, migrations.RunPython.noop),
    ]
