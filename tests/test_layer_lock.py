"""The Lambda layer ships exactly what the tests ran on: layers/common/requirements.txt is the
closure of requirements/runtime.txt on the Lambda target, pinned to requirements/dev.lock."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devtools import layerlock

ROOT = Path(__file__).resolve().parents[1]


def _pins(path: Path) -> dict[str, str]:
    """Independent of the generator: `name[extras]==version` lines, names normalised by hand."""
    pins = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"{path.name}: {line!r} is not an exact pin"
            pins[name.split("[")[0].lower().replace("_", "-")] = version
    return pins


def test_every_layer_requirement_is_pinned_to_the_version_the_tests_ran_on() -> None:
    layer = _pins(ROOT / "layers" / "common" / "requirements.txt")
    locked = _pins(ROOT / "requirements" / "dev.lock")
    assert {"aws-lambda-powertools", "pydantic", "pydantic-core", "boto3", "botocore"} <= set(layer)
    drift = {name: (version, locked.get(name)) for name, version in layer.items() if locked.get(name) != version}
    assert not drift, f"layer pin != dev.lock (layer, lock): {drift}; run `make lock`"
    # and the suite really ran on them: this environment is the lock's
    installed = {name: importlib.metadata.version(name) for name in layer}
    assert installed == layer


def test_the_suite_signs_requests_as_the_layer_does() -> None:
    # botocore signs with awscrt whenever it can import it; the venv has it (for the SAM CLI), the
    # layer does not, so the suite turns it off (tests/conftest.py, the Makefile's LOCAL_ENV).
    import botocore.compat

    assert "awscrt" not in _pins(ROOT / "layers" / "common" / "requirements.txt")
    assert not botocore.compat.HAS_CRT


def test_layer_requirements_are_what_make_lock_generates() -> None:
    expected = layerlock.render(layerlock.layer_pins())
    current = (ROOT / "layers" / "common" / "requirements.txt").read_text(encoding="utf-8")
    assert current == expected, "layers/common/requirements.txt is stale: run `make lock`"


def test_closure_follows_extras_and_the_lambda_target_not_this_machine() -> None:
    wanted = layerlock.closure([Requirement("aws-lambda-powertools[tracer]")])
    assert "aws-xray-sdk" in wanted and "wrapt" in wanted  # the tracer extra
    assert "cryptography" not in wanted  # only for extras not asked for
    assert wanted[canonicalize_name("aws-lambda-powertools")] == {"tracer"}
    arm = Requirement('pydantic; platform_machine == "aarch64" and sys_platform == "linux"')
    intel = Requirement('pydantic; platform_machine == "x86_64"')
    assert set(layerlock.closure([arm])) >= {"pydantic", "pydantic-core"}
    assert layerlock.closure([intel]) == {}


def test_a_runtime_range_the_lock_does_not_satisfy_is_refused(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime.txt"
    runtime.write_text("pydantic<2\n", encoding="utf-8")
    with pytest.raises(layerlock.LockError, match=r"pydantic<2 .*does not allow 2\."):
        layerlock.layer_pins(runtime=runtime)


def test_a_lock_without_a_needed_distribution_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "dev.lock"
    kept = [
        line
        for line in (ROOT / "requirements" / "dev.lock").read_text(encoding="utf-8").splitlines()
        if not line.lower().startswith("wrapt==")
    ]
    lock.write_text("\n".join(kept) + "\n", encoding="utf-8")
    with pytest.raises(layerlock.LockError, match=r"wrapt is needed by the layer but not in dev\.lock"):
        layerlock.layer_pins(lock=lock)


def test_check_mode_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "requirements.txt"
    stale.write_text("pydantic>=2.13,<3\n", encoding="utf-8")
    assert layerlock.main(["--check", "--output", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert layerlock.main(["--output", str(stale)]) == 0
    assert layerlock.main(["--check", "--output", str(stale)]) == 0
