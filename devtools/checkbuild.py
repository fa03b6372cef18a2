"""Proof that what `sam build` made is what the tests ran on, and that it imports.

`make build` runs this after `sam build`, on `.aws-sam/build`:

1. **Versions**: every distribution in the built layer is pinned in
   `layers/common/requirements.txt` at the same version, that file lists nothing the layer lacks,
   and each version is the one in `requirements/dev.lock` (what `make test` ran on).
2. **Contents**: every file each distribution's RECORD lists is in the layer with its sha256, so
   nothing was half-copied or patched after pip installed it.
3. **Architecture**: the layer's wheels are tagged for the template's architecture (arm64:
   `aarch64`) or pure Python, and every shared object in it is an ELF for that machine.
4. **Imports**: each built function's handler is imported on Python 3.13 with only its built code
   directory and the built layer on `sys.path` (`python -I -S`: no site-packages, no user paths),
   as Lambda would, in a process of its own with the function's template environment; the metrics
   function also answers `GET /swagger?format=json`, which exercises pydantic end to end. Where
   this machine is not the layer's architecture, the layer is copied and each distribution with
   native code is replaced in the copy by *the same version's* wheel for this machine (fetched
   once with `pip download` into `.aws-sam/check-wheels/`); everything else imported is the
   artefact's own file. Checks 1-3 make sure the shipped binaries are those versions' arm64 builds.
5. **Bytecode**: every module of the layer and of each function has its CPython 3.13 `.pyc` beside
   it, hash-based and unchecked (the Makefiles of layers/common and of each CodeUri), so a cold
   start loads the modules instead of compiling them: Lambda's code directories are read-only,
   and a missing `.pyc` is compiled again at every cold start.

    python -m devtools.checkbuild [--build-dir .aws-sam/build] [--python /path/to/python3.13]

Exit status 0 when every check passed; otherwise each failure is printed and the status is 1.
"""

from __future__ import annotations

import argparse
import base64
import csv
import email.parser
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from devtools.layerlock import DEV_LOCK, LAYER_REQUIREMENTS, read_lock
from devtools.template import FunctionSpec, Template

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
WHEEL_CACHE = REPO_ROOT / ".aws-sam" / "check-wheels"
IMPORT_TIMEOUT_SECONDS = 120

# ELF e_machine values (System V ABI) and the names wheels and Lambda use for them.
ELF_MACHINES = {183: "aarch64", 62: "x86_64"}
LAMBDA_ARCHITECTURES = {"arm64": "aarch64", "x86_64": "x86_64"}


class BuildCheckError(RuntimeError):
    """The build directory is missing or not what `sam build` makes."""


@dataclass(slots=True)
class Distribution:
    name: NormalizedName
    version: str
    dist_info: Path
    purelib: bool
    tags: tuple[str, ...]

    @property
    def root(self) -> Path:
        return self.dist_info.parent

    def record(self) -> Iterator[tuple[str, str, str]]:
        """(path relative to the layer root, hash spec, size) of every file RECORD lists."""
        with (self.dist_info / "RECORD").open(newline="", encoding="utf-8") as stream:
            for row in csv.reader(stream):
                if row:
                    yield row[0], row[1] if len(row) > 1 else "", row[2] if len(row) > 2 else ""


@dataclass(slots=True)
class Report:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def ok(self, line: str) -> None:
        self.passed.append(line)
        print(f"  ok    {line}", flush=True)

    def fail(self, line: str) -> None:
        self.failed.append(line)
        print(f"  FAIL  {line}", flush=True)


# --------------------------------------------------------------------------- reading the layer


def distributions(python_dir: Path) -> list[Distribution]:
    out = []
    for dist_info in sorted(python_dir.glob("*.dist-info")):
        metadata = email.parser.Parser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
        wheel_file = dist_info / "WHEEL"
        wheel = email.parser.Parser().parsestr(wheel_file.read_text(encoding="utf-8")) if wheel_file.exists() else None
        purelib = wheel is None or str(wheel.get("Root-Is-Purelib", "true")).strip().lower() == "true"
        tags = tuple(wheel.get_all("Tag") or []) if wheel is not None else ()
        out.append(
            Distribution(canonicalize_name(str(metadata["Name"])), str(metadata["Version"]), dist_info, purelib, tags)
        )
    return out


def read_pins(path: Path) -> dict[NormalizedName, str]:
    """`name[extras]==version` lines of the layer's requirements file."""
    pins: dict[NormalizedName, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise BuildCheckError(f"{path}: '{line}' is not an exact pin")
        pins[canonicalize_name(name.split("[", 1)[0])] = version.strip()
    return pins


def elf_machine(path: Path) -> str | None:
    """The machine an ELF file is built for ('aarch64', 'x86_64', 'e_machine 40'), None if not ELF."""
    with path.open("rb") as stream:
        header = stream.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return ELF_MACHINES.get(machine, f"e_machine {machine}")


def host_machine() -> str:
    machine = platform.machine().lower()
    return {"arm64": "aarch64", "amd64": "x86_64"}.get(machine, machine)


# --------------------------------------------------------------------------- the checks


def check_versions(
    layer: list[Distribution], pins: dict[NormalizedName, str], locked: dict[NormalizedName, str], report: Report
) -> None:
    built = {d.name: d.version for d in layer}
    problems = []
    for name, version in sorted(built.items()):
        if name not in pins:
            problems.append(f"{name} {version} is in the layer but not in {LAYER_REQUIREMENTS.name}")
        elif pins[name] != version:
            problems.append(f"{name}: the layer has {version}, {LAYER_REQUIREMENTS.name} pins {pins[name]}")
        if locked.get(name) != version:
            problems.append(
                f"{name}: the layer has {version}, {DEV_LOCK.name} (what the tests ran on) "
                f"has {locked.get(name, 'nothing')}"
            )
    problems += [
        f"{name}=={version} is pinned but missing from the layer"
        for name, version in sorted(pins.items())
        if name not in built
    ]
    if problems:
        for problem in problems:
            report.fail(problem)
        return
    report.ok(
        f"versions: the layer's {len(built)} distributions equal layers/common/requirements.txt "
        f"and requirements/dev.lock ({', '.join(f'{n} {v}' for n, v in sorted(built.items()))})"
    )


def check_contents(layer: list[Distribution], report: Report) -> None:
    checked = 0
    bad: list[str] = []
    for dist in layer:
        for relative, spec, _size in dist.record():
            if not spec:  # RECORD lists itself (and .pyc files) without a hash
                continue
            if relative.startswith("../"):  # a console script, installed beside the packages: not
                continue  # importable, so layers/common/Makefile leaves it out
            algorithm, _, expected = spec.partition("=")
            path = dist.root / relative
            if not path.is_file():
                bad.append(f"{dist.name}: {relative} is missing")
                continue
            digest = base64.urlsafe_b64encode(hashlib.new(algorithm, path.read_bytes()).digest()).rstrip(b"=")
            if digest.decode() != expected:
                bad.append(f"{dist.name}: {relative} differs from the wheel's RECORD")
            checked += 1
    if bad:
        for line in bad[:20]:
            report.fail(line)
        if len(bad) > 20:
            report.fail(f"... and {len(bad) - 20} more files")
        return
    report.ok(f"contents: {checked:,} files match their distributions' RECORD hashes")


def check_architecture(layer: list[Distribution], python_dir: Path, architecture: str, report: Report) -> None:
    machine = LAMBDA_ARCHITECTURES.get(architecture)
    if machine is None:
        report.fail(f"unknown Lambda architecture {architecture!r}")
        return
    problems = []
    for dist in layer:
        if dist.purelib:
            continue
        if not dist.tags or not all(machine in tag for tag in dist.tags):
            problems.append(
                f"{dist.name} {dist.version}: wheel tags {', '.join(dist.tags) or 'none'} are not all {machine}"
            )
        if not all(tag.startswith(("cp313-", "cp3-abi3", "py3-")) or "-abi3-" in tag for tag in dist.tags):
            problems.append(f"{dist.name} {dist.version}: wheel tags {', '.join(dist.tags)} are not for CPython 3.13")
    shared = 0
    for path in sorted(python_dir.rglob("*.so*")):
        if not path.is_file():
            continue
        found = elf_machine(path)
        if found is None:
            continue
        shared += 1
        if found != machine:
            problems.append(f"{path.relative_to(python_dir)} is built for {found}, not {machine}")
    if problems:
        for problem in problems:
            report.fail(problem)
        return
    native = [f"{d.name} {d.version}" for d in layer if not d.purelib]
    report.ok(
        f"architecture {architecture}: {shared} shared objects are ELF {machine}; native "
        f"distributions {', '.join(native) or 'none'} carry {machine} wheel tags"
    )


# --------------------------------------------------------------------------- imports


_RUNNER = r"""
import importlib, json, os, sys, time
code_dir, layer_dir, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [code_dir, layer_dir]
started = time.perf_counter()
module_name, attribute = spec["handler"].rsplit(".", 1)
module = importlib.import_module(module_name)
handler = getattr(module, attribute)
assert callable(handler), spec["handler"] + " is not callable"
seconds = time.perf_counter() - started
stdlib = os.path.dirname(os.__file__)
outside = sorted({m.__name__.split(".")[0] for m in list(sys.modules.values())
                  if getattr(m, "__file__", None)
                  and not os.path.realpath(m.__file__).startswith((os.path.realpath(code_dir),
                                                                   os.path.realpath(layer_dir),
                                                                   os.path.realpath(stdlib)))})
result = {"seconds": round(seconds, 2), "module": os.path.relpath(module.__file__, code_dir),
          "outside": outside, "python": sys.version.split()[0]}
for name in ("pydantic", "pydantic_core", "aws_lambda_powertools", "boto3", "botocore"):
    loaded = sys.modules.get(name)
    if loaded is not None:
        result.setdefault("from", {})[name] = os.path.relpath(loaded.__file__, layer_dir)
if spec.get("swagger"):
    # The project's one fake context (devtools/lambdacontext.py, stdlib only), loaded from its file
    # after the import check so it is not counted as something the handler imported.
    import importlib.util
    context_spec = importlib.util.spec_from_file_location("devtools_lambdacontext", spec["context_module"])
    context_module = importlib.util.module_from_spec(context_spec)
    sys.modules[context_spec.name] = context_module
    context_spec.loader.exec_module(context_module)
    Context = lambda: context_module.LambdaContext(function_name=spec["function_name"], memory_limit_in_mb=512,
                                                   timeout_seconds=30, aws_request_id="checkbuild")
    event = {"version": "2.0", "routeKey": "GET /swagger", "rawPath": "/swagger",
             "rawQueryString": "format=json", "queryStringParameters": {"format": "json"},
             "headers": {"host": "localhost"}, "isBase64Encoded": False,
             "requestContext": {"accountId": "123456789012", "apiId": "checkbuild", "domainName": "localhost",
                                "domainPrefix": "localhost", "requestId": "checkbuild", "routeKey": "GET /swagger",
                                "stage": "$default", "time": "01/Mar/2025:00:00:00 +0000", "timeEpoch": 0,
                                "http": {"method": "GET", "path": "/swagger", "protocol": "HTTP/1.1",
                                         "sourceIp": "127.0.0.1", "userAgent": "checkbuild"}}}
    answer = handler(event, Context())
    document = json.loads(answer["body"])
    result["swagger"] = {"status": answer["statusCode"], "openapi": document.get("openapi"),
                         "paths": len(document.get("paths") or {})}
print("CHECKBUILD " + json.dumps(result))
"""


def import_layer(
    layer: list[Distribution], python_dir: Path, machine: str, python: str, workdir: Path, report: Report
) -> Path | None:
    """The layer directory to import from: the built one, or a copy with native distributions
    swapped for the same versions built for this machine."""
    native = [d for d in layer if not d.purelib]
    if machine == host_machine() or not native:
        return python_dir
    copy = workdir / "python"
    shutil.copytree(python_dir, copy, symlinks=True)
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    for dist in native:
        for relative, _, _ in dist.record():
            target = copy / relative
            if target.is_file() or target.is_symlink():
                target.unlink()
        wheel = _host_wheel(dist, python)
        if wheel is None:
            report.fail(
                f"imports: no {host_machine()} wheel of {dist.name}=={dist.version} could be "
                f"fetched for the check (pip download; see above)"
            )
            return None
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(copy)  # nosec B202 - a wheel pip just downloaded from the index
    swapped = ", ".join(f"{d.name} {d.version}" for d in native)
    print(
        f"  ..    this machine is {host_machine()}: importing with {swapped} swapped for the same "
        f"versions' {host_machine()} wheels; everything else is the artefact's own files",
        flush=True,
    )
    return copy


def _host_wheel(dist: Distribution, python: str) -> Path | None:
    def cached() -> Path | None:
        prefix = f"{dist.name.replace('-', '_')}-{dist.version}-"
        for wheel in sorted(WHEEL_CACHE.glob("*.whl")):
            if wheel.name.lower().startswith(prefix.lower()) and host_machine() in wheel.name:
                return wheel
        return None

    found = cached()
    if found is not None:
        return found
    command = [
        python,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(WHEEL_CACHE),
        f"{dist.name}=={dist.version}",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if completed.returncode != 0:
        print(completed.stdout + completed.stderr, file=sys.stderr)
        return None
    return cached()


def check_imports(functions: Iterable[FunctionSpec], layer_dirs: dict[Path, Path], python: str, report: Report) -> None:
    for fn in functions:
        paths = fn.sys_paths()
        code_dir, layer_paths = paths[0], [layer_dirs.get(p, p) for p in paths[1:]]
        if len(layer_paths) != 1:
            report.fail(f"{fn.logical_id}: expected exactly one layer, found {len(layer_paths)}")
            continue
        spec = {
            "handler": fn.handler,
            "function_name": fn.function_name,
            "swagger": any(r.path == "/swagger" for r in fn.http_routes),
            "context_module": str(Path(__file__).resolve().with_name("lambdacontext.py")),
        }
        env = _lambda_environment(fn)
        started = time.monotonic()
        try:
            completed = subprocess.run(
                [python, "-I", "-S", "-c", _RUNNER, str(code_dir), str(layer_paths[0]), json.dumps(spec)],
                capture_output=True,
                text=True,
                env=env,
                timeout=IMPORT_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            report.fail(f"{fn.logical_id}: importing {fn.handler} took over {IMPORT_TIMEOUT_SECONDS}s")
            continue
        line = next((x for x in completed.stdout.splitlines() if x.startswith("CHECKBUILD ")), None)
        if completed.returncode != 0 or line is None:
            tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-15:])
            report.fail(f"{fn.logical_id}: {fn.handler} does not import from the build:\n{tail}")
            continue
        result = json.loads(line.removeprefix("CHECKBUILD "))
        if result["outside"]:
            report.fail(f"{fn.logical_id}: modules came from outside the build: {', '.join(result['outside'])}")
            continue
        extra = ""
        if spec["swagger"]:
            swagger = result.get("swagger") or {}
            if swagger.get("status") != 200 or not swagger.get("paths"):
                report.fail(f"{fn.logical_id}: GET /swagger?format=json answered {swagger}")
                continue
            extra = f"; GET /swagger?format=json -> 200, OpenAPI {swagger['openapi']}, {swagger['paths']} paths"
        report.ok(
            f"imports: {fn.logical_id} {fn.handler} on Python {result['python']} from "
            f"{code_dir.name}/ + {layer_paths[0].parent.name}/python "
            f"({result['seconds']:.2f}s import, {time.monotonic() - started:.1f}s in all{extra})"
        )


def _lambda_environment(fn: FunctionSpec) -> dict[str, str]:
    """What Lambda sets, the template's variables, and nothing that could reach AWS."""
    keep = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT") if name in os.environ}
    return {
        **keep,
        **fn.environment,
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime or 'python3.13'}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # nosec B105 - fake credentials: nothing may reach AWS
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "_HANDLER": fn.handler,
    }


# --------------------------------------------------------------------------- main


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def check_bytecode(python_dir: Path, report: Report, what: str = "the layer") -> None:
    """Every .py of a built directory has an unchecked hash-based .pyc of this Python's bytecode version."""
    tag = sys.implementation.cache_tag  # cpython-313: what Lambda's python3.13 looks for
    magic = importlib.util.MAGIC_NUMBER
    modules = sorted(python_dir.rglob("*.py"))
    bad: list[str] = []
    for source in modules:
        compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        if not compiled.is_file():
            bad.append(f"{_shown(source)} has no {compiled.name}")
            continue
        with compiled.open("rb") as stream:
            header = stream.read(8)
        flags = int.from_bytes(header[4:8], "little")
        if header[:4] != magic or flags != 0b01:  # bit 0: hash-based; bit 1: check the source
            bad.append(f"{_shown(compiled)} is not an unchecked hash-based .pyc of Python {tag}")
    for line in bad[:10]:
        report.fail(f"bytecode: {line}")
    if len(bad) > 10:
        report.fail(f"bytecode: ... and {len(bad) - 10} more modules")
    if not bad:
        report.ok(f"bytecode: all {len(modules):,} modules of {what} are compiled ({tag}, unchecked hash)")


def check(build_dir: Path = BUILD_DIR, python: str | None = None) -> Report:
    template_path = build_dir / "template.yaml"
    if not template_path.is_file():
        raise BuildCheckError(f"{template_path} is missing: run `make build` (sam build) first")
    template = Template(template_path)
    functions = template.functions()
    report = Report()
    layer_dirs: dict[Path, Path] = {}
    python = python or sys.executable
    with tempfile.TemporaryDirectory(prefix="checkbuild-") as tmp:
        for logical_id, layer_spec in sorted(template.layers().items()):
            if layer_spec.content_uri is None:
                continue
            python_dir = layer_spec.content_uri / "python"
            if not python_dir.is_dir():
                raise BuildCheckError(f"{logical_id}: {python_dir} is missing (not a sam build of a Python layer)")
            print(f"built layer {logical_id} ({_shown(python_dir)}):", flush=True)
            properties = template.raw_resources()[logical_id]
            architecture = str(((properties.get("Metadata") or {}).get("BuildArchitecture")) or "x86_64")
            layer = distributions(python_dir)
            check_versions(layer, read_pins(LAYER_REQUIREMENTS), read_lock(DEV_LOCK), report)
            check_contents(layer, report)
            check_architecture(layer, python_dir, architecture, report)
            check_bytecode(python_dir, report)
            wrong = [
                f.logical_id
                for f in functions
                if any(layer.content_uri == layer_spec.content_uri for layer in f.layers)
                and architecture not in (f.properties.get("Architectures") or ["x86_64"])
            ]
            if wrong:
                report.fail(f"functions {', '.join(wrong)} do not run on {architecture}, the layer's architecture")
            workdir = Path(tmp) / logical_id
            workdir.mkdir()
            usable = import_layer(
                layer, python_dir, LAMBDA_ARCHITECTURES.get(architecture, architecture), python, workdir, report
            )
            if usable is not None:
                layer_dirs[python_dir] = usable
        print("built functions:", flush=True)
        for fn in functions:
            check_bytecode(fn.code_uri, report, fn.logical_id)
        if layer_dirs:
            check_imports(functions, layer_dirs, python, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.checkbuild", description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=BUILD_DIR)
    parser.add_argument("--python", default=None, help="Python 3.13 to import with (default: this one)")
    args = parser.parse_args(argv)
    try:
        report = check(args.build_dir.resolve(), args.python)
    except BuildCheckError as exc:
        print(f"checkbuild: {exc}", file=sys.stderr)
        return 2
    if report.failed:
        print(f"checkbuild: {len(report.failed)} check(s) FAILED, {len(report.passed)} passed", file=sys.stderr)
        return 1
    print(f"checkbuild: all {len(report.passed)} checks passed: the artefact is the tested combination and imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
