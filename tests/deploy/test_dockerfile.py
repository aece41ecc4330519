"""deploy/Dockerfile: parsed into instructions (no Docker daemon here) and checked."""

from __future__ import annotations

import json
import re
import tomllib

import yaml

from tests.deploy.deploy_helpers import CHART, DOCKERFILE, DOCKERIGNORE, REPO


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuations joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    assert not pending, "dangling line continuation"
    return result


def stages() -> list[list[tuple[str, str]]]:
    parsed = instructions()
    starts = [i for i, (kw, _) in enumerate(parsed) if kw == "FROM"]
    return [parsed[a:b] for a, b in zip(starts, [*starts[1:], len(parsed)], strict=True)]


def build_args() -> dict[str, str]:
    global_args = []
    for keyword, args in instructions():
        if keyword == "FROM":
            break
        global_args.append(args)
    return dict(a.split("=", 1) for a in global_args if "=" in a)


KNOWN = {"FROM", "ARG", "ENV", "RUN", "COPY", "WORKDIR", "USER", "EXPOSE", "LABEL"}
KNOWN |= {"ENTRYPOINT", "CMD"}


def test_parses_into_known_instructions() -> None:
    parsed = instructions()
    assert {kw for kw, _ in parsed} <= KNOWN
    assert not [kw for kw, _ in parsed if kw in {"HEALTHCHECK", "ADD"}]


def test_multi_stage_with_a_pinned_slim_python_311_base() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    image = build_args()["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", image), image
    for stage in all_stages:
        assert stage[0][1].startswith("${PYTHON_IMAGE} AS "), stage[0]


def test_runtime_stage_runs_as_the_charts_non_root_user() -> None:
    runtime = stages()[-1]
    users = [args for kw, args in runtime if kw == "USER"]
    assert users == ["10001:10001"]
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert values["podSecurityContext"]["runAsUser"] == 10001
    assert values["podSecurityContext"]["runAsGroup"] == 10001
    # nothing runs after switching to the unprivileged user that could need root
    after_user = runtime[[kw for kw, _ in runtime].index("USER") :]
    assert not [kw for kw, _ in after_user if kw == "RUN"]
    entrypoint = json.loads(dict(runtime)["ENTRYPOINT"])
    cmd = json.loads(dict(runtime)["CMD"])
    assert entrypoint + cmd == ["ews", "worker"]
    assert dict(runtime)["EXPOSE"] == str(values["config"]["web_port"])


def test_runtime_stage_takes_only_the_built_venv() -> None:
    runtime = stages()[-1]
    copies = [args for kw, args in runtime if kw == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]
    build = stages()[0]
    assert any("pip install ." in args for kw, args in build if kw == "RUN")


def test_no_secrets_baked_in() -> None:
    secretish = re.compile(r"(PASSWORD|TOKEN|SECRET|ROUTING_KEYS|_KEY\b|KEYFILE)", re.I)
    for keyword, args in instructions():
        if keyword in {"ARG", "ENV"}:
            assert not secretish.search(args), args


def test_dockerignore_admits_exactly_what_pip_install_needs() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "allow-list: everything is excluded first"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    needed = packages | {"pyproject.toml", pyproject["project"]["readme"]}
    assert needed <= admitted, f"not in the build context: {sorted(needed - admitted)}"
    assert admitted - needed == set(), f"admitted but not needed: {sorted(admitted - needed)}"
    for path in needed:
        assert (REPO / path).exists(), path
