from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.photowall import cache, services


class Command(BaseCommand):
    help = "Manage the PhotoWall: cache stats and reload, import a folder of images, seed demo portraits."

    def add_arguments(self, parser):
        parser.add_argument("--stats", action="store_true", help="what the wall cache holds")
        parser.add_argument("--reload", action="store_true", help="rebuild the wall cache now")
        parser.add_argument(
            "--import", dest="folder", metavar="DIR", help="import images (subfolder = celebrity)"
        )
        parser.add_argument("--celebrity", default="Narcis guests", help="celebrity for images at DIR's top")
        parser.add_argument("--demo", action="store_true", help="seed demo portraits if there are none")

    def handle(self, *args, stats, reload, folder, celebrity, demo, **options):
        if not (stats or reload or folder or demo):
            raise CommandError("say what to do: --stats, --reload, --import DIR or --demo")
        if folder:
            try:
                photos = services.photos_import(Path(folder), celebrity_name=celebrity)
            except services.PublishError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"imported {len(photos)} photo(s) from {folder}")
        if demo:
            from apps.photowall.demo import seed_demo

            photos = seed_demo()
            self.stdout.write(
                f"seeded {len(photos)} demo portrait(s)" if photos else "demo portraits already there"
            )
        if reload or demo:  # an import reloads by itself
            cache.reload()
        if stats or reload:
            s = cache.stats()
            self.stdout.write(f"images: {s['images']}  bytes: {s['bytes']}  loaded: {s['loaded'] or 'no'}")
