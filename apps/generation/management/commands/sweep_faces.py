from django.conf import settings
from django.core.management.base import BaseCommand

from apps.generation import services


class Command(BaseCommand):
    help = (
        "Delete selfies Narcis no longer needs: files that belong to no job, and the photos of jobs "
        "finished more than FACE_RETENTION_DAYS ago (their portraits stay), and photos sent ahead with "
        "POST /api/uploads that expired unused. Meant for a daily schedule."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would go; delete nothing")

    def handle(self, *args, dry_run, **options):
        report = services.faces_sweep(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for path in report.orphans:
            self.stdout.write(f"{verb} {path} (no job)")
        for path in report.expired:
            self.stdout.write(f"{verb} {path} (finished over {settings.FACE_RETENTION_DAYS} days ago)")
        for path in report.uploads:
            self.stdout.write(f"{verb} {path} (uploaded, expired unused)")
        self.stdout.write(
            f"{len(report.orphans)} orphaned and {len(report.expired)} expired selfie(s) and "
            f"{len(report.uploads)} expired upload(s) {verb}."
        )
