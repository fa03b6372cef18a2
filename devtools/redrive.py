"""`make redrive`: run the RedriveFunction against the running local stack (`make demo`).

Imports that failed after Lambda's retries land in the ingest dead-letter queue (locally too: the
demo delivers S3 events as asynchronous invocations with the template's EventInvokeConfig); the
RedriveFunction ingests them again. Without a running demo this says so and exits 2.

    python -m devtools.redrive
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devtools.localaws import STATE_FILE
from devtools.reconcile import run_function

FUNCTION = "RedriveFunction"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.redrive", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-file", type=Path, default=STATE_FILE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return run_function(FUNCTION, {}, args.state_file)


if __name__ == "__main__":
    sys.exit(main())
