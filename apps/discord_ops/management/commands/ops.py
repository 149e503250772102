"""python manage.py ops --as EMAIL <command>: the operators' console from a terminal, the same services
the Discord bot calls.

    ops set guidance_scale 6          ops params          ops reset [NAME]
    ops faces import DIR --folder team-a
    ops test-faces team-a,team-b 2 [--ideas "corporate confidence,ethereal beauty"]
    ops sweep sweep.yaml [--dry-run]
    ops sessions                      ops cancel SESSION     ops save RESULT_ID

test-faces and sweep follow their session to the end: a live line on a terminal, plain lines when piped,
each result as it completes. `--worker` paints in this process (no `make run` needed); `--no-wait`
only queues.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.discord_ops import selectors, services
from apps.discord_ops.errors import OpsError
from apps.discord_ops.progress import ProgressEditor, progress_text
from apps.discord_ops.selectors import ResultCard
from apps.generation import selectors as generation_selectors


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser):
        parser.add_argument(
            "--as",
            dest="email",
            default=os.environ.get("NARCIS_OPERATOR_EMAIL"),
            help="the operator's staff account (default: $NARCIS_OPERATOR_EMAIL)",
        )
        commands = parser.add_subparsers(dest="command", required=True)
        set_ = commands.add_parser("set", help="set a parameter in your working set")
        set_.add_argument("name")
        set_.add_argument("value")
        commands.add_parser("params", help="your working set, and what differs from the defaults")
        reset = commands.add_parser("reset", help="back to the defaults (one parameter, or all)")
        reset.add_argument("name", nargs="?")
        faces = commands.add_parser("faces", help="face folders")
        faces_commands = faces.add_subparsers(dest="faces_command", required=True)
        imported = faces_commands.add_parser("import", help="import a folder of face photos")
        imported.add_argument("directory", type=Path)
        imported.add_argument("--folder", required=True, help="lowercase letters, digits, dashes")
        test = commands.add_parser("test-faces", help="faces × ideas × N")
        test.add_argument("folders", help="comma-separated face folders")
        test.add_argument("per_input", type=int, help="generations per face and idea")
        test.add_argument("--ideas", default=None, help="comma-separated mecene ideas (default: OPS_IDEAS)")
        sweep = commands.add_parser("sweep", help="a YAML sweep of parameters, ideas, faces, seeds")
        sweep.add_argument("file", type=Path)
        sweep.add_argument("--dry-run", action="store_true", help="list the combinations, queue nothing")
        for runner in (test, sweep):
            runner.add_argument("--worker", action="store_true", help="paint in this process")
            runner.add_argument("--no-wait", action="store_true", help="queue and return")
        commands.add_parser("sessions", help="your recent sessions")
        cancel = commands.add_parser("cancel", help="cancel a session's queued and running jobs")
        cancel.add_argument("session", type=int)
        save = commands.add_parser("save", help="keep a result as a production")
        save.add_argument("result", help="the result's job id (or its first 8 characters)")

    def handle(self, *args, email, command, **options):
        try:
            operator = services.operator_account(email=email) if email else None
            if operator is None:
                raise OpsError("Say who you are: --as EMAIL (an operator's staff account).")
            getattr(self, "_" + command.replace("-", "_"))(operator, **options)
        except OpsError as error:
            raise CommandError(error.message) from None

    # ---- parameters ----

    def _set(self, operator, *, name, value, **_):
        working = services.params_set(owner=operator, name=name, value=value)
        self.stdout.write(f"{name} set (working set v{working.version})")

    def _reset(self, operator, *, name, **_):
        working = services.params_reset(owner=operator, name=name)
        self.stdout.write(f"{name or 'every parameter'} back to the default (working set v{working.version})")

    def _params(self, operator, **_):
        lines, production_mode, version = selectors.params_overview(operator)
        self.stdout.write(f"working set v{version} · production_mode {str(production_mode).lower()}")
        for line in lines:
            mark = f"   (default {line.default})" if line.changed else ""
            self.stdout.write(f"{'*' if line.changed else ' '} {line.name:<22} {line.value}{mark}")

    # ---- faces ----

    def _faces(self, operator, *, faces_command, directory, folder, **_):
        photos = services.folder_import(name=folder, directory=directory)
        self.stdout.write(f"{len(photos)} photo(s) in faces/{folder}/: {', '.join(p.name for p in photos)}")

    # ---- sessions ----

    def _test_faces(self, operator, *, folders, per_input, ideas, worker, no_wait, **_):
        folder_list = [f.strip() for f in folders.split(",") if f.strip()]
        idea_list = [i.strip() for i in ideas.split(",")] if ideas else list(settings.OPS_IDEAS)
        combinations = services.test_faces_combinations(
            folders=folder_list, ideas=idea_list, per_input=per_input
        )
        spec = {"folders": folder_list, "ideas": idea_list, "per_input": per_input}
        session = services.session_create(owner=operator, kind="test", combinations=combinations, spec=spec)
        self._follow(session, worker=worker, wait=not no_wait)

    def _sweep(self, operator, *, file, dry_run, worker, no_wait, **_):
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as error:
            raise OpsError(f"Cannot read {file}: {error.strerror}.") from None
        _, combinations = services.sweep_combinations(text)
        if dry_run:
            self.stdout.write(f"{len(combinations)} combinations (dry run: nothing queued)")
            for number, combo in enumerate(combinations, start=1):
                varied = ", ".join(f"{k}={v}" for k, v in combo.params.items())
                self.stdout.write(
                    f"{number:>4}. {combo.idea} · {combo.folder}/{combo.face}"
                    + (f" · {varied}" if varied else "")
                )
            return
        session = services.session_create(
            owner=operator, kind="sweep", combinations=combinations, spec={"yaml": text[:20_000]}
        )
        self._follow(session, worker=worker, wait=not no_wait)

    def _follow(self, session, *, worker: bool, wait: bool):
        summary = selectors.session_summary(session)
        self.stdout.write(f"session {session.pk}: {summary.total} generation(s) queued")
        if not wait:
            return
        painter = None
        if worker:
            from apps.generation.worker import worker_from_settings

            painter = worker_from_settings()
        terminal = self.stdout.isatty()
        editor = ProgressEditor()
        reported: set[int] = set()
        while True:
            if painter is not None:
                painter.run_once()
            summary = selectors.session_summary(session)
            for card in selectors.results_of(session.pk, exclude_item_ids=reported):
                if card.outcome.ended:
                    reported.add(card.item_id)
                    self._report(card, terminal)
            services.productions_for_finished(session=session)
            if (text := editor.take(progress_text(summary))) is not None:
                self._show(text, terminal)
            if summary.finished:
                if (text := editor.flush()) is not None:
                    self._show(text, terminal)
                if terminal:
                    self.stdout.write("")
                return
            if painter is None:
                time.sleep(0.5)

    def _show(self, text: str, terminal: bool) -> None:
        if terminal:
            self.stdout.write("\r" + text, ending="")
            self.stdout.flush()
        else:
            self.stdout.write(text)

    def _report(self, card: ResultCard, terminal: bool) -> None:
        outcome = card.outcome
        if outcome.succeeded:
            score = outcome.identity_score
            detail = f"seed {outcome.seed}" + (f" · identity {score:.2f}" if score is not None else "")
            line = f"✓ {outcome.id} · {card.idea} · {card.face} · {detail} · {outcome.result_name}"
        else:
            line = f"✗ {outcome.id} · {card.idea} · {card.face} · {outcome.status}: {outcome.error}"
        self.stdout.write(("\r" if terminal else "") + line)

    def _sessions(self, operator, **_):
        for session in selectors.sessions_of(operator):
            self.stdout.write(progress_text(selectors.session_summary(session)) + f" · {session.kind}")

    def _cancel(self, operator, *, session, **_):
        count = services.session_cancel_by_number(number=session, owner=operator)
        self.stdout.write(f"session {session}: {count} job(s) canceled")

    def _save(self, operator, *, result, **_):
        job = _job_by_id(result, operator)
        production, created = services.production_save(job=job, operator=operator)
        said = "saved as" if created else "already saved as"
        self.stdout.write(f"{str(job.pk)[:8]} {said} production {production.pk}: {production.image.name}")


def _job_by_id(text: str, operator):
    text = text.strip().lower()
    if len(text) < 8 or any(c not in "0123456789abcdef-" for c in text):
        raise OpsError("A result id is the job's id (at least its first 8 characters).")
    job = generation_selectors.job_for_owner(operator, text)
    if job is None:
        raise OpsError(f"No single result of yours starts with {text!r}.")
    return job
