"""inference/ is a plain package layered one way (DESIGN.md §1): nothing below it imports Django or the
apps, and inside it no import runs back up a layer."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "inference"
FORBIDDEN = ("django", "apps", "narcis_site", "ninja", "channels")

# inference's modules, lowest layer first, by dotted prefix under `inference.` (the longest prefix
# places a module). A module imports its own entry and entries of lower layers only: never a layer
# above, nor a neighbour in its own layer (the two stages, for one).
LAYERS = (
    ("params", "quiet", "terminal"),  # the parameter catalogue; logging and terminal helpers
    ("models", "faces"),  # weights and their loading (PhotoMaker's included); face analysis
    ("text",),  # prompts -> embeddings, on the models' two text encoders
    ("identity",),  # the sitter's face fused into a prompt
    ("portrait", "portrait.images", "portrait.previews", "portrait.crops", "portrait.masks"),
    ("portrait.progress", "portrait.scheduler", "portrait.conditioning"),
    ("portrait.sampling",),  # the guided denoiser and both samplers
    ("portrait.stages", "portrait.stages.inputs"),  # what both stages take
    ("portrait.stages.base", "portrait.stages.detailing"),  # stage 1, stage 2: neither imports the other
    ("portrait.pipeline", "mecene"),
    ("portrait.build",),
    ("bench", "__main__", "__init__"),  # the entry points; the package's own docstring
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def place(name: str) -> tuple[int, str]:
    """(layer, entry) of a module under inference/, by its longest listed prefix."""
    matches = [
        (len(entry), layer, entry)
        for layer, entries in enumerate(LAYERS)
        for entry in entries
        if name == entry or name.startswith(entry + ".")
    ]
    assert matches, f"inference.{name} is in no layer: add it to LAYERS"
    _, layer, entry = max(matches)
    return layer, entry


def upward_arrows() -> list[str]:
    arrows = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        layer, entry = place(source)
        for target in sorted(imports(path)):
            if not target.startswith("inference."):
                continue
            target_layer, target_entry = place(target.removeprefix("inference."))
            if target_entry != entry and target_layer >= layer:
                arrows.append(f"inference.{source} -> {target}")
    return arrows


def test_no_django_or_app_imports_in_inference():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        roots = {name.split(".")[0] for name in imports(path)}
        offenders[str(path.relative_to(PACKAGE))] = sorted(roots & set(FORBIDDEN))
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_import_runs_up_or_across_a_layer():
    assert upward_arrows() == []


def test_the_layers_catch_an_upward_arrow():
    """The check itself: identity importing portrait (the arrow issue 33 removed) would be caught."""
    assert place("identity.conditioner") < place("portrait.conditioning")
    assert place("portrait.stages.detailing")[0] == place("portrait.stages.base")[0]
