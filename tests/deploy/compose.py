"""Reading deploy/: the compose file with its ``${…}`` references, .env.example, the Dockerfile.

No Docker engine (nor the compose plugin) runs here, so the compose file is read as YAML and its
variable references are resolved the way compose does (``${X}``, ``${X:-default}``, ``${X:?message}``,
``$$`` for a literal ``$``), enough to prove every variable is declared and every required one names
itself when missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import PROJECT

DEPLOY = PROJECT / "deploy"
REFERENCE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class MissingVariable(ValueError):
    pass


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def instance_config() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "dagster.yaml").read_text())


def env_example() -> dict[str, str]:
    values = {}
    for number, line in enumerate((DEPLOY / ".env.example").read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            raise ValueError(f".env.example line {number}: not NAME=value: {line!r}")
        values[name] = value
    return values


def references(text: str) -> list[tuple[str, str | None, str]]:
    """``(name, operator, argument)`` of every ``${…}`` in ``text``."""
    return [(m["name"], m["op"], m["arg"] or "") for m in REFERENCE.finditer(text) if m["name"]]


def all_references(value: Any) -> list[tuple[str, str | None, str]]:
    """Every ``${…}`` in the values of a parsed compose file (comments are not interpolated)."""
    if isinstance(value, dict):
        return [r for k, v in value.items() for r in [*all_references(k), *all_references(v)]]
    if isinstance(value, list):
        return [r for v in value for r in all_references(v)]
    return references(value) if isinstance(value, str) else []


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """``value`` with compose's variable syntax resolved against ``env``; a required one raises."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        if match[0] == "$$":
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        current = env.get(name)
        if op == ":?" and not current:
            raise MissingVariable(f"required variable {name} is missing a value: {arg}")
        if op == "?" and current is None:
            raise MissingVariable(f"required variable {name} is missing a value: {arg}")
        if op == ":-" and not current:
            return arg
        if op == "-" and current is None:
            return arg
        return current or ""

    return REFERENCE.sub(one, value)


def service_environment(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (volume name or host path) of a service's volumes."""
    out = {}
    for item in service.get("volumes") or []:
        source, target, *_ = item.split(":")
        out[target] = source
    return out


def dockerfile_instructions(path: Path | None = None) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` with continuation lines joined and comments dropped."""
    text = (path or DEPLOY / "Dockerfile").read_text()
    joined = re.sub(
        r"\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    )
    out = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, rest = line.strip().partition(" ")
            out.append((instruction.upper(), rest.strip()))
    return out
