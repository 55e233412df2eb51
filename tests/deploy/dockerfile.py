"""Reading the Dockerfile and .dockerignore the way Docker does, for the tests that prove the
image's steps without a Docker engine: its instructions per stage, its runtime environment,
and the build context that .dockerignore leaves."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arguments for word, arguments in self.instructions if word == keyword]


def stages(path: Path = DOCKERFILE) -> list[Stage]:
    """Each FROM and the instructions under it (continuation lines joined, comments dropped)."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    found: list[Stage] = []
    for line in logical:
        word, _, arguments = line.strip().partition(" ")
        word, arguments = word.upper(), arguments.strip()
        if word == "FROM":
            parts = arguments.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            found.append(Stage(base=parts[0], name=name))
        else:
            found[-1].instructions.append((word, arguments))
    return found


def exec_form(arguments: str) -> list[str]:
    """`["a", "b"]` (what ENTRYPOINT, CMD and HEALTHCHECK CMD use here) as a list."""
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(part, str) for part in value), arguments
    return value


def environment(stage: Stage) -> dict[str, str]:
    """The stage's ENV settings, `${NAME}` expanded from the ones before and the process's."""
    env: dict[str, str] = {}
    for arguments in stage.all("ENV"):
        for pair in shlex.split(arguments):
            name, _, value = pair.partition("=")
            env[name] = re.sub(
                r"\$\{(\w+)\}", lambda m: env.get(m.group(1), os.environ.get(m.group(1), "")), value
            )
    return env


def _element(part: str) -> str:
    """One path element of a .dockerignore pattern as a regular expression."""
    out, i = "", 0
    while i < len(part):
        char = part[i]
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[" and "]" in part[i:]:
            end = part.index("]", i)
            out += part[i : end + 1]
            i = end
        else:
            out += re.escape(char)
        i += 1
    return out


def _ignore_rules(path: Path = DOCKERIGNORE) -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        parts = line.lstrip("!").strip("/").split("/")
        # Docker's matcher: `*` stays within one path element, `**` spans any number of them;
        # a pattern that matches a directory takes everything below it.
        regex = "".join("(?:[^/]+/)*" if part == "**" else _element(part) + "/" for part in parts)
        rules.append((keep, re.compile(rf"^{regex.rstrip('/')}(?:/.*)?$", re.S)))
    return rules


def _ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    ignored = False
    for keep, regex in rules:
        if regex.match(relative):
            ignored = not keep
    return ignored


def build_context(source: Path, target: Path) -> list[str]:
    """Copies what `docker build source` would send (the tree less .dockerignore's matches)
    into target; returns the relative paths copied."""
    rules = _ignore_rules(source / ".dockerignore")
    copied: list[str] = []
    for directory, subdirectories, files in os.walk(source):
        base = Path(directory).relative_to(source)
        subdirectories[:] = [d for d in subdirectories if not _ignored((base / d).as_posix(), rules)]
        for name in files:
            relative = (base / name).as_posix()
            if _ignored(relative, rules):
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / relative, destination, follow_symlinks=False)
            copied.append(relative)
    return sorted(copied)
