"""The API's OpenAPI document as the deployed metrics function serves it: docs/openapi.json.

    python -m devtools.openapi            # write docs/openapi.json (`make openapi`)
    python -m devtools.openapi --check    # exit 1 if docs/openapi.json is not what is served
    python -m devtools.openapi --print --set MAX_RANGE_DAYS=31   # another configuration's document

The document is taken from the function itself: its handler is imported with the environment
template.yaml gives MetricsFunction (the function reads its settings once, at import, and the
document states the configured limits), then asked for GET /swagger?format=json. Run it in a
fresh process: a handler already imported keeps the settings it was imported with.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devtools.gateway import build_event
from devtools.template import Template

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "openapi.json"
FUNCTION = "MetricsFunction"
# Settings that change what the function logs or emits, never what the document says.
_QUIET = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}


def served_document(
    template_path: str | Path = ROOT / "template.yaml", overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """What the metrics function answers to GET /swagger?format=json, as parsed JSON."""
    spec = Template(template_path).function(FUNCTION)
    os.environ.update({**spec.environment, **_QUIET, **(overrides or {})})
    for path in reversed(spec.sys_paths()):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    if spec.module in sys.modules:
        raise RuntimeError(f"{spec.module} is already imported: its settings may not be the template's")
    handler = getattr(importlib.import_module(spec.module), spec.attribute)
    event = build_event("GET", "/swagger", "format=json", route_key="GET /swagger")
    result = handler(event, spec.lambda_context())
    if result.get("statusCode") != 200:
        raise RuntimeError(f"GET /swagger?format=json answered {result.get('statusCode')}: {result.get('body')}")
    document: dict[str, Any] = json.loads(result["body"])
    return document


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true", help="fail if the committed document differs")
    action.add_argument("--print", action="store_true", help="print the document instead of writing it")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable over the template's (with --print)",
    )
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    parser.add_argument("--output", default=str(DOCUMENT))
    args = parser.parse_args(argv)
    if args.set and not args.print:
        parser.error("--set describes another configuration: use it with --print")
    if any("=" not in item for item in args.set):
        parser.error("--set takes NAME=VALUE")
    overrides = dict(item.split("=", 1) for item in args.set)
    document = served_document(args.template, overrides)
    output = Path(args.output)
    if args.print:
        sys.stdout.write(render(document))
        return 0
    if args.check:
        committed = json.loads(output.read_text(encoding="utf-8")) if output.exists() else None
        if committed != document:
            print(f"{output} is not the document the API serves: run `make openapi` and commit it", file=sys.stderr)
            return 1
        print(f"{output} is the document the API serves")
        return 0
    output.write_text(render(document), encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
