"""docs/architecture.md draws the import-linter layers contract exactly; the contract covers every
module; no document or comment points outside the repository."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("apps", "vibi", "workers")


def _contract_layers() -> list[tuple[str, list[str]]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [contract["layers"] for contract in config["contracts"] if contract["type"] == "layers"]
    drawn = []
    for layer in layers:
        separator = "|" if "|" in layer else ":"
        drawn.append((separator, [module.strip() for module in layer.split(separator)]))
    return drawn


def _drawn_layers() -> list[tuple[str, list[str]]]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Layers", 1)[1]
    block = section.split("```", 2)[1]
    layers: list[list[str]] = []
    for line in block.splitlines():
        if re.match(r"^\d+\. ", line):
            layers.append([])
        elif re.match(r"^   [a-z]", line) and layers:
            layers[-1].append(line.strip())
    drawn = []
    for lines in layers:
        modules_text = " ".join(lines)
        separator = "|" if "|" in modules_text else ":"
        drawn.append((separator, [module.strip() for module in modules_text.split(separator) if module.strip()]))
    return drawn


def test_the_drawing_is_the_contract():
    assert _drawn_layers() == _contract_layers()


def _modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if len(parts) > 1:
                found.append(".".join(parts))
    return sorted(found)


def test_every_module_is_in_a_layer():
    """A package split across layers lists its modules one by one: a new module needs its line."""
    layered = [module for _, modules in _contract_layers() for module in modules]
    outside = [
        module
        for module in _modules()
        if not any(module == layer or module.startswith(layer + ".") for layer in layered)
        # the package of a split one (apps.core): its modules are listed instead
        and not any(layer.startswith(module + ".") for layer in layered)
    ]
    assert outside == []


OUTSIDE = re.compile(r"/work/|\.\./shared|perso-behaviour\.md|client-contract\.md|reference-spec")


def test_no_document_or_comment_points_outside_the_repository():
    texts = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    for package in (*PACKAGES, "tests", "deploy"):
        texts += [path for path in (ROOT / package).rglob("*") if path.suffix in (".py", ".md", ".sh", ".toml")]
    texts += [ROOT / "pyproject.toml", ROOT / "Makefile", ROOT / "Dockerfile", ROOT / "compose.yaml"]
    this_file = Path(__file__).resolve()
    hits = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in texts
        if path.is_file() and path.resolve() != this_file
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert hits == []
