"""devtools/checkbuild.py, the check `make build` runs on what `sam build` made: on a build put
together here from this environment (this machine's architecture, no network), it passes; with a
file changed, a distribution missing or binaries for the wrong machine, it fails and says why."""

from __future__ import annotations

import compileall
import importlib.metadata
import py_compile
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import checkbuild
from devtools.checkbuild import distributions, elf_machine, host_machine
from devtools.layerlock import LAYER_REQUIREMENTS

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = {"aarch64": "arm64", "x86_64": "x86_64"}.get(host_machine(), host_machine())
TEMPLATE = f"""\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    Architectures: [{ARCHITECTURE}]
    Layers: [!Ref CommonLayer]
    Environment:
      Variables:
        TABLE_NAME: t
        BUCKET_NAME: b
        RETRACT_FUNCTION_NAME: checkbuild-ingest:live
        POWERTOOLS_SERVICE_NAME: checkbuild-test
        POWERTOOLS_METRICS_NAMESPACE: CheckBuildTest
Resources:
  CommonLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {{ContentUri: CommonLayer}}
    Metadata: {{BuildMethod: python3.13, BuildArchitecture: {ARCHITECTURE}}}
  MetricsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: MetricsFunction
      Handler: metrics_handler.handler
      Events:
        OpenApi: {{Type: HttpApi, Properties: {{Path: /swagger, Method: GET}}}}
  HealthFunction:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: HealthFunction, Handler: health_handler.handler}}
"""

pytestmark = pytest.mark.slow  # copies ~100 MB of installed distributions


def _copy_distribution(name: str, into: Path) -> None:
    dist = importlib.metadata.distribution(name)
    for file in dist.files or []:
        source = Path(str(dist.locate_file(file)))
        if source.is_file() and "__pycache__" not in file.parts:
            target = into / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _make_build(root: Path) -> Path:
    """What `sam build` makes, for this machine: the layer's pinned distributions (as installed
    here from the lock), the salesmetrics package, two functions' code."""
    build = root / "build"
    python = build / "CommonLayer" / "python"
    python.mkdir(parents=True)
    for line in LAYER_REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            _copy_distribution(line.split("==")[0].split("[")[0], python)
    shutil.copytree(
        ROOT / "layers" / "common" / "salesmetrics",
        python / "salesmetrics",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for name, source in (("MetricsFunction", "metrics"), ("HealthFunction", "health")):
        # What sam build copies: the function's whole CodeUri folder (the metrics API package too).
        shutil.copytree(
            ROOT / "functions" / source, build / name, ignore=shutil.ignore_patterns("__pycache__", "requirements*.txt")
        )
    # As the Makefiles do: the bytecode, compiled once, used unchecked.
    compileall.compile_dir(build, quiet=1, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    (build / "template.yaml").write_text(TEMPLATE, encoding="utf-8")
    return build


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_build(tmp_path_factory.mktemp("checkbuild"))


@pytest.fixture
def build(pristine: Path, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "build"
    shutil.copytree(pristine, copy, symlinks=True)
    yield copy


def test_a_build_of_the_locked_versions_passes_every_check(pristine: Path) -> None:
    report = checkbuild.check(pristine)
    assert report.failed == []
    text = "\n".join(report.passed)
    assert "versions: the layer's 15 distributions equal" in text
    assert "MetricsFunction metrics_handler.handler on Python 3.13" in text
    assert "GET /swagger?format=json -> 200" in text
    assert "HealthFunction health_handler.handler" in text
    assert "of the layer are compiled" in text
    assert "of MetricsFunction are compiled" in text


def test_a_module_without_its_bytecode_or_with_timestamp_bytecode_fails_the_bytecode_check(build: Path) -> None:
    python = build / "CommonLayer" / "python"
    (python / "salesmetrics" / "__pycache__" / f"money.{sys.implementation.cache_tag}.pyc").unlink()
    py_compile.compile(str(python / "salesmetrics" / "sales.py"))  # the default: checked by timestamp
    report = checkbuild.Report()
    checkbuild.check_bytecode(python, report)
    failed = "\n".join(report.failed)
    assert f"salesmetrics/money.py has no money.{sys.implementation.cache_tag}.pyc" in failed
    assert f"sales.{sys.implementation.cache_tag}.pyc is not an unchecked hash-based .pyc" in failed
    assert len(report.failed) == 2


def test_a_file_changed_after_install_fails_the_contents_check(build: Path) -> None:
    target = build / "CommonLayer" / "python" / "pydantic" / "version.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n# patched\n", encoding="utf-8")
    report = checkbuild.check(build)
    assert "pydantic: pydantic/version.py differs from the wheel's RECORD" in report.failed


def test_a_missing_distribution_fails_the_version_and_import_checks(build: Path) -> None:
    python = build / "CommonLayer" / "python"
    for path in python.glob("pydantic_core*"):
        shutil.rmtree(path)
    report = checkbuild.check(build)
    failed = "\n".join(report.failed)
    assert "pydantic-core==2.46.5 is pinned but missing from the layer" in failed
    assert "MetricsFunction: metrics_handler.handler does not import from the build" in failed
    assert "pydantic_core" in failed


def test_binaries_for_another_machine_fail_the_architecture_check(pristine: Path) -> None:
    python = pristine / "CommonLayer" / "python"
    other = "arm64" if ARCHITECTURE == "x86_64" else "x86_64"
    report = checkbuild.Report()
    checkbuild.check_architecture(distributions(python), python, other, report)
    failed = "\n".join(report.failed)
    assert "pydantic-core 2.46.5: wheel tags" in failed
    assert f"is built for {host_machine()}, not {checkbuild.LAMBDA_ARCHITECTURES[other]}" in failed


def test_elf_machine_names_the_architecture_of_a_shared_object(tmp_path: Path) -> None:
    import pydantic_core._pydantic_core as native

    assert elf_machine(Path(str(native.__file__))) == host_machine()
    text = tmp_path / "not-elf.so"
    text.write_bytes(b"#!/bin/sh\n" * 4)
    assert elf_machine(text) is None
