"""A moto server in its own process, for benchmarks that must not share memory with it.

    python -m bench.motoserver        prints `READY <port>` once it listens on 127.0.0.1, and
                                      serves until its stdin closes (its parent went away).

`MotoServerProcess` starts one as a child and stops exactly that child.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from bench.common import ROOT, child_env


def _serve() -> int:
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    from devtools import motopatch  # noqa: PLC0415

    motopatch.apply()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _host, port = server.get_host_and_port()
    print(f"READY {port}", flush=True)
    try:
        sys.stdin.read()  # EOF when the parent closes the pipe (or dies)
    finally:
        server.stop()
    return 0


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class MotoServerProcess:
    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.endpoint_url = ""

    def __enter__(self) -> MotoServerProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.motoserver"], cwd=ROOT, env=child_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.__exit__(None, None, None)
            raise RuntimeError("the moto server process did not start")
        self.endpoint_url = f"http://127.0.0.1:{line[1]}"
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()  # this very child, by its pid
            process.wait(timeout=10)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


if __name__ == "__main__":
    sys.exit(_serve())
