"""`make reconcile`: run the ReconcileFunction against the running local stack (`make demo`).

Recomputes every day aggregate from the stored sales and reports drift; `--repair` (REPAIR=1)
also fixes it. The demo leaves `.local/stack.json` (its moto endpoint) while it runs; without a
running demo this says so and exits 2.

    python -m devtools.reconcile [--repair]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from devtools.localaws import STATE_FILE, LocalAws, LocalAwsError, attach
from devtools.template import TemplateError

FUNCTION = "ReconcileFunction"


def run_function(logical_id: str, event: dict[str, Any], state_file: Path = STATE_FILE) -> int:
    """Invoke one function of the template on the demo's stack; print its answer. Exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        # The handler's JSON logs at WARNING only (as in the demo): the answer is the output.
        stack: LocalAws = attach(
            state_file, env_overrides={"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
        )
    except LocalAwsError as exc:
        print(f"{exc}", file=sys.stderr)
        return 2
    try:
        try:
            stack.function(logical_id)
        except TemplateError as exc:
            print(f"{exc}", file=sys.stderr)
            return 2
        try:
            result = stack.invoke(logical_id, event)
        except LocalAwsError as exc:
            print(f"{logical_id}: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:
            print(f"{logical_id} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(result, indent=2, default=str))
        return 0
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.reconcile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repair", action="store_true", help="fix the aggregates that drifted")
    parser.add_argument("--state-file", type=Path, default=STATE_FILE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return run_function(FUNCTION, {"repair": args.repair}, args.state_file)


if __name__ == "__main__":
    sys.exit(main())
