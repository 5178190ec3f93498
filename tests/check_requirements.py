#!/usr/bin/env python3
"""Exit 0 when every requirement in a requirements file is installed at a satisfying
version, 1 otherwise (naming what is missing on standard error).

    python3 tests/check_requirements.py tests/requirements.txt

scripts/install-deps runs this first, so a machine that already has the tools does no
network at all. Only the standard library is used (importlib.metadata), as pip may not
have installed anything yet. Understood: `name`, `name[extra]`, and the operators
==, !=, >=, <=, >, <, ~= and `==X.*`, comma separated; an environment marker after `;`
is evaluated for the simple `python_version` / `sys_platform` forms and otherwise kept.
"""

from __future__ import annotations

import importlib.metadata as metadata
import platform
import re
import sys

_REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<specs>[^;]*?)\s*(?:;\s*(?P<marker>.*))?$"
)
_SPEC = re.compile(r"^\s*(?P<op>~=|===|==|!=|>=|<=|>|<)\s*(?P<version>[^\s,]+)\s*$")


def _release(version: str) -> tuple[int, ...]:
    """The numeric release part of a version (`1.2.3rc1` → (1, 2, 3)), for comparisons."""
    parts: list[int] = []
    for piece in version.split("+", 1)[0].split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
        if digits.group() != piece:  # 3rc1, 0a2: what follows is a pre/post tag
            break
    return tuple(parts)


def _is_prerelease(version: str) -> bool:
    local = version.split("+", 1)[0].lower()
    return re.search(r"\d[-_.]?(a|b|c|rc|alpha|beta|pre|preview)\d*$|[-_.]?dev\d*$", local) is not None


def _has_prefix(version: tuple[int, ...], prefix: tuple[int, ...]) -> bool:
    padded = version + (0,) * max(0, len(prefix) - len(version))
    return padded[: len(prefix)] == prefix


def _compare(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    length = max(len(a), len(b))
    a = a + (0,) * (length - len(a))
    b = b + (0,) * (length - len(b))
    return (a > b) - (a < b)


def satisfies(installed: str, op: str, wanted: str) -> bool:
    if op == "===":
        return installed == wanted
    if wanted.endswith(".*") and op in ("==", "!="):
        matches = _has_prefix(_release(installed), _release(wanted[:-2]))
        return matches if op == "==" else not matches
    have, want = _release(installed), _release(wanted)
    order = _compare(have, want)
    if op == "==":
        return order == 0 and _is_prerelease(installed) == _is_prerelease(wanted)
    if op == "!=":
        return order != 0
    if op == ">=":
        # 2.0rc1 does not satisfy >=2.0
        return order > 0 or (order == 0 and not (_is_prerelease(installed) and not _is_prerelease(wanted)))
    if op == "<=":
        return order <= 0
    if op == ">":
        return order > 0
    if op == "<":
        # 2.0rc1 < 2.0 holds, as in pip
        return order < 0 or (order == 0 and _is_prerelease(installed) and not _is_prerelease(wanted))
    if op == "~=":  # ~=1.4.2 means >=1.4.2 and ==1.4.*
        return order >= 0 and _has_prefix(have, want[: max(1, len(want) - 1)])
    raise ValueError(f"unknown operator {op}")


def _marker_applies(marker: str | None) -> bool:
    if not marker:
        return True
    simple = re.fullmatch(r"\s*(python_version|sys_platform)\s*(==|!=|>=|<=|>|<)\s*['\"]([^'\"]+)['\"]\s*", marker)
    if not simple:
        return True  # unknown marker: be conservative and require the package
    variable, op, value = simple.groups()
    if variable == "sys_platform":
        return (sys.platform == value) == (op == "==")
    current = ".".join(platform.python_version_tuple()[:2])
    return satisfies(current, op, value)


def problems(path: str) -> list[str]:
    found: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                found.append(f"{path}:{number}: option lines ({line.split()[0]}) are not understood")
                continue
            match = _REQUIREMENT.match(line)
            if not match:
                found.append(f"{path}:{number}: cannot read requirement {line!r}")
                continue
            if not _marker_applies(match.group("marker")):
                continue
            name = match.group("name")
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                found.append(f"{name}: not installed")
                continue
            for spec in filter(None, (s.strip() for s in match.group("specs").split(","))):
                parsed = _SPEC.match(spec)
                if not parsed:
                    found.append(f"{path}:{number}: cannot read version specifier {spec!r}")
                    break
                if not satisfies(installed, parsed.group("op"), parsed.group("version")):
                    found.append(f"{name}: {installed} installed, {spec} wanted")
                    break
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} REQUIREMENTS_FILE", file=sys.stderr)
        return 1
    try:
        missing = problems(argv[1])
    except OSError as error:
        print(f"{argv[1]}: {error.strerror}", file=sys.stderr)
        return 1
    for problem in missing:
        print(problem, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
