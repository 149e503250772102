"""Apps reach each other only through services (writes), selectors (reads), signals/events, errors and
the hooks declared below (DESIGN.md §1): never another app's models, columns or JSON shapes. What a
job produced is read through generation's JobOutcome: no `metadata` key read outside generation. The
bot and `manage.py ops` are thin front-ends: no ORM query in them."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {"services", "selectors", "signals", "events", "errors"}
# Reached beyond PUBLIC on purpose, each for a reason: (importing app, imported module) -> why.
DECLARED = {
    ("generation", "apps.sessions_tokens.models"): "a job's owner is a User or a GuestSession",
    ("generation", "apps.sessions_tokens.allowances"): "the per-address counters the throttles share",
    ("generation", "apps.sessions_tokens.pending_work"): "hook: live jobs keep guest sessions alive",
    ("discord_ops", "apps.generation.uploads"): "the public photo and idea checks, for face folders",
    ("discord_ops", "apps.generation.job_params"): "hook: provide_visitor_defaults",
    ("discord_ops", "apps.generation.worker"): "`ops ... --worker` paints in the terminal's own process",
    ("discord_ops", "apps.photowall.admin"): "admin: the publish action on productions",
    ("photowall", "apps.generation.admin"): "admin: the publish action on jobs",
}
THIN_FRONT_ENDS = ["apps/discord_ops/bot", "apps/discord_ops/management/commands/ops.py"]
ORM_CALLS = {"objects", "select_related", "prefetch_related", "values_list", "filter", "exclude", "aggregate"}


def _sources(root: Path, under: str):
    base = root / under
    paths = [base] if base.is_file() else base.rglob("*.py")
    return [p for p in paths if "migrations" not in p.parts]


def _imports(path: Path) -> list[str]:
    """Every module an import names: `from apps.x import services` names apps.x.services."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
    return names


def boundary_violations(root: Path) -> list[str]:
    """'file: module' for each import of another app beyond its public modules and DECLARED."""
    found = []
    for path in _sources(root, "apps"):
        parts = path.relative_to(root / "apps").parts
        if len(parts) < 2:
            continue
        app = parts[0]
        for name in _imports(path):
            pieces = name.split(".")
            if pieces[0] != "apps" or len(pieces) < 3 or pieces[1] == app:
                continue
            module = ".".join(pieces[:3])
            if pieces[2] in PUBLIC or (app, module) in DECLARED:
                continue
            if len(pieces) == 3 and _is_module(root, pieces):  # `from apps.x import models`
                found.append(f"{path.relative_to(root)}: {module}")
            elif len(pieces) > 3 or not _is_package(root, pieces):
                found.append(f"{path.relative_to(root)}: {module}")
    return sorted(set(found))


def _is_module(root: Path, pieces: list[str]) -> bool:
    return (root / "/".join(pieces)).with_suffix(".py").exists() or (root / "/".join(pieces)).is_dir()


def _is_package(root: Path, pieces: list[str]) -> bool:
    return (root / "/".join(pieces[:2])).is_dir() and len(pieces) == 2


def metadata_reads(root: Path) -> list[str]:
    """Reads of a job's `metadata` outside apps/generation."""
    found = []
    for path in _sources(root, "apps"):
        if path.relative_to(root / "apps").parts[0] == "generation":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "metadata":
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def orm_queries(root: Path) -> list[str]:
    """ORM use in the thin front-ends: a model manager, queryset calls, a models import."""
    found = []
    for under in THIN_FRONT_ENDS:
        for path in _sources(root, under):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr in ORM_CALLS:
                    found.append(f"{path.relative_to(root)}:{node.lineno} .{node.attr}")
            found += [
                f"{path.relative_to(root)}: imports {n}" for n in _imports(path) if n.endswith(".models")
            ]
    return found


def test_apps_reach_each_other_only_through_their_public_modules():
    assert boundary_violations(ROOT) == []


def test_no_job_metadata_read_outside_generation():
    assert metadata_reads(ROOT) == []


def test_no_orm_query_in_the_bot_or_the_ops_command():
    assert orm_queries(ROOT) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for app in ("generation", "photowall", "discord_ops"):
        (tmp_path / "apps" / app).mkdir(parents=True, exist_ok=True)
        (tmp_path / "apps" / app / "models.py").touch()
    return tmp_path


def test_the_checks_catch_an_app_reaching_into_another(tmp_path):
    root = _tree(
        tmp_path,
        {
            "apps/photowall/services.py": "from apps.generation.models import GenerationJob\n",
            "apps/photowall/views.py": (
                "from apps.generation import models\nfrom apps.generation import selectors\n"
            ),
            "apps/photowall/wall.py": "def score(job):\n    return job.metadata['identity_score']\n",
            "apps/discord_ops/bot/cog.py": (
                "from apps.discord_ops.models import TestSession\nTestSession.objects.get()\n"
            ),
        },
    )
    assert boundary_violations(root) == [
        "apps/photowall/services.py: apps.generation.models",
        "apps/photowall/views.py: apps.generation.models",
    ]
    assert metadata_reads(root) == ["apps/photowall/wall.py:2"]
    assert orm_queries(root) == [
        "apps/discord_ops/bot/cog.py:2 .objects",
        "apps/discord_ops/bot/cog.py: imports apps.discord_ops.models",
    ]
