"""A moto server in its own process, for benchmarks that must not share memory with it.

    python -m bench.motoserver        prints `READY <port>` once it listens on 127.0.0.1, and
                                      serves until its stdin closes (its parent went away).

`MotoServerProcess` starts one as a child and stops exactly that child.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from bench.common import ServerProcess


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


class MotoServerProcess(ServerProcess):
    module = "bench.motoserver"

    def upload(self, bucket: str, path: Path, key: str) -> tuple[str, str]:
        """Upload a file to a versioned bucket here (created if need be): (version id, ETag)."""
        import boto3  # noqa: PLC0415

        s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.upload_file(str(path), bucket, key)  # multipart for a big one, as a browser upload would be
        head = s3.head_object(Bucket=bucket, Key=key)
        return str(head.get("VersionId") or ""), str(head["ETag"]).strip('"')

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


if __name__ == "__main__":
    sys.exit(_serve())
