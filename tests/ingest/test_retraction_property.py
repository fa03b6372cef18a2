"""Undo, as a property over the in-memory storage fake.

Random overlapping, corrected, copied and re-sorted exports are uploaded and delivered in any
order (some twice), and random imports are retracted between them, through the API's path
(`Retractor.run`) or by deleting the object (a delete marker, or a permanent delete of the
version); ingests and retractions crash before or after their k-th write and are retried. After
every step every figure (the day aggregates behind revenue, daily and series, and every breakdown)
equals an independent reckoning of the imports ingested and not retracted, the latest upload of
each sale winning, and the sales stored are exactly the reckoning's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesmetrics.events import ObjectRef
from salesmetrics.imports import ImportStatus, import_id_for
from salesmetrics.ingest import Ingestor
from salesmetrics.reconcile import reconcile
from salesmetrics.retract import Retractor, removed_imports
from salesmetrics.storage.aws import AwsStorage
from salesmetrics.storage.base import Conflicts, WriteBatch
from tests.fakes.storage import MemoryStorage
from tests.ingest.support import BUCKET, REJECTS_PREFIX, T0, check_exact
from tests.ingest.test_any_order_property import Upload, build_file, uploads
from tests.moto_resources import moto_aws
from tests.reckoning import reckon


class Crash(Exception):
    pass


@dataclass(frozen=True)
class Step:
    kind: str  # "ingest", "retract" (the API), "marker" (aws s3 rm), "version" (delete the version)
    upload: int
    crash_at: int | None
    crash_after: bool


steps = st.builds(
    Step,
    kind=st.sampled_from(["ingest", "ingest", "ingest", "retract", "marker", "version"]),
    upload=st.integers(0, 5),
    crash_at=st.none() | st.integers(1, 3),
    crash_after=st.booleans(),
)


class MotoStorage(AwsStorage):
    """The real storage on moto, with what the scenario needs of the fake: commit hooks (for the
    crashes), object puts and removals through S3, and the set of stored Sale IDs."""

    def __init__(self, table: str, s3: Any) -> None:
        super().__init__(table)
        self._s3_client = s3
        self.before_commit: Callable[[WriteBatch], None] | None = None
        self.after_commit: Callable[[WriteBatch], None] | None = None

    def commit(self, batch: WriteBatch) -> Conflicts:
        if self.before_commit is not None:
            self.before_commit(batch)
        conflicts = super().commit(batch)
        if self.after_commit is not None:
            self.after_commit(batch)
        return conflicts

    def put_object(self, bucket: str, key: str, body: bytes) -> str:
        return str(self._s3_client.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"])

    def put_delete_marker(self, bucket: str, key: str) -> str:
        return str(self._s3_client.delete_object(Bucket=bucket, Key=key)["VersionId"])

    def delete_version(self, bucket: str, key: str, version_id: str) -> None:
        self._s3_client.delete_object(Bucket=bucket, Key=key, VersionId=version_id)

    @property
    def sales(self) -> set[str]:
        return {sale.sale_id for sale in self.iter_sales()}


def check_figures(storage: Any, files: list[bytes]) -> None:
    if files:
        check_exact(storage, files)
    else:  # everything retracted: nothing left anywhere
        assert reconcile(storage).clean
        assert all(day.totals.is_zero() for day in storage.day_aggregates())
    assert set(storage.sales) == set(reckon(files).sales)


def run_scenario(plans: list[Upload], script: list[Step], data: Any, storage: Any = None) -> None:
    files: list[bytes] = []
    for plan in plans:
        files.append(build_file(plan, files))
    storage = MemoryStorage() if storage is None else storage
    refs = []
    for i, body in enumerate(files):
        key = f"uploads/export-{i}.csv"
        version = storage.put_object(BUCKET, key, body)
        refs.append(
            ObjectRef(BUCKET, key, version, f"e{i}", len(body), T0 + timedelta(seconds=i), f"{i:016X}", f"r{i}")
        )
    ids = [import_id_for(r.bucket, r.key, r.version_id, r.etag) for r in refs]
    per_flush = data.draw(st.sampled_from([7, 25, 500]), label="sales per flush")
    ingested: set[int] = set()
    retracted: set[int] = set()
    gone: set[int] = set()  # object versions deleted or hidden: never ingested afterwards

    def attempt(step: Step, upload: int) -> None:
        if step.kind == "ingest":
            record = Ingestor(storage, REJECTS_PREFIX, sales_per_flush=per_flush).run(refs[upload])
            if record.status not in (ImportStatus.RETRACTING, ImportStatus.RETRACTED):
                assert record.status != ImportStatus.IN_PROGRESS
                ingested.add(upload)
            return
        ref = refs[upload]
        if step.kind == "retract":
            targets = [ids[upload]] if storage.get_import(ids[upload]) else []  # else the API's 404
        elif step.kind == "marker":
            marker = storage.put_delete_marker(ref.bucket, ref.key)
            # Each key holds one version here, so the marker hides that version.
            targets = removed_imports(storage, ref.bucket, ref.key, marker, marker=True)
        else:
            storage.delete_version(ref.bucket, ref.key, ref.version_id)
            targets = removed_imports(storage, ref.bucket, ref.key, ref.version_id, marker=False)
        assert targets == ([ids[upload]] if storage.get_import(ids[upload]) else [])
        for target in targets:
            done = Retractor(storage).run(target)
            assert done is not None and done.status == ImportStatus.RETRACTED
            retracted.add(upload)

    for step in script:
        upload = step.upload % len(files)
        if step.kind != "ingest" and step.kind != "retract" and upload in gone:
            continue  # the object is gone already
        if step.kind == "ingest" and upload in gone:
            continue  # no event can name a deleted version
        count = {"n": 0}

        def before(batch: WriteBatch, s: Step = step, c: dict[str, int] = count) -> None:
            c["n"] += 1
            if s.crash_at == c["n"] and not s.crash_after:
                raise Crash("before write")

        def after(batch: WriteBatch, s: Step = step, c: dict[str, int] = count) -> None:
            if s.crash_at == c["n"] and s.crash_after:
                raise Crash("after write")

        storage.before_commit, storage.after_commit = before, after
        try:
            attempt(step, upload)
        except Crash:
            storage.before_commit = storage.after_commit = None
            # The platform's retry: an object removal is not redone, its event is delivered again.
            attempt(Step("retract" if step.kind != "ingest" else "ingest", upload, None, False), upload)
        finally:
            storage.before_commit = storage.after_commit = None
        if step.kind in ("marker", "version"):
            gone.add(upload)
        check_figures(storage, [files[i] for i in sorted(ingested - retracted)])
    for upload in retracted:
        record = storage.get_import(ids[upload])
        assert record is not None and record.status == ImportStatus.RETRACTED


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans=st.lists(uploads, min_size=1, max_size=4), script=st.lists(steps, min_size=1, max_size=8), data=st.data())
def test_uploads_and_retractions_in_any_order_with_crashes_leave_the_figures_of_the_imports_kept(
    plans: list[Upload], script: list[Step], data: Any
) -> None:
    run_scenario(plans, script, data)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans=st.lists(uploads, min_size=1, max_size=6), script=st.lists(steps, min_size=1, max_size=14), data=st.data())
def test_many_more_uploads_and_retractions_leave_the_figures_of_the_imports_kept(
    plans: list[Upload], script: list[Step], data: Any
) -> None:
    run_scenario(plans, script, data)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans=st.lists(uploads, min_size=1, max_size=3), script=st.lists(steps, min_size=2, max_size=6), data=st.data())
def test_uploads_and_retractions_on_dynamodb_and_s3_leave_the_figures_of_the_imports_kept(
    plans: list[Upload], script: list[Step], data: Any
) -> None:
    """The same property, a few examples, on moto: the real storage's transactions, conditional
    deletes, history and S3 version listing (delete markers, permanent deletes)."""
    with moto_aws() as aws:
        run_scenario(plans, script, data, MotoStorage(aws["table"], aws["s3"]))


def test_an_ingest_that_starts_after_a_retraction_marked_its_import_does_not_ingest() -> None:
    """The race of a redelivered ingest with DELETE: the ingest read the record before the
    retraction marked it, and writes after. Its start is refused, so the retracted sales stay out."""
    storage = MemoryStorage()
    files = [build_file(Upload(start=0, length=30, fix=0, shuffle=None, copy_of=None), [])]
    ref = ObjectRef(
        BUCKET, "uploads/a.csv", storage.put_object(BUCKET, "uploads/a.csv", files[0]), "e0", 1, T0, "01", "r"
    )
    import_id = import_id_for(ref.bucket, ref.key, ref.version_id, ref.etag)
    assert Ingestor(storage, REJECTS_PREFIX).run(ref).status == ImportStatus.SUCCEEDED
    real_get = storage.get_import
    raced: list[bool] = []

    def get_then_retract(wanted: str) -> Any:
        seen = real_get(wanted)
        if wanted == import_id and not raced:  # the DELETE lands between the ingest's read and write
            raced.append(True)
            storage.get_import = real_get  # type: ignore[method-assign]
            assert Retractor(storage).run(import_id) is not None
        return seen

    storage.get_import = get_then_retract  # type: ignore[method-assign]
    record = Ingestor(storage, REJECTS_PREFIX).run(ref)
    assert raced
    assert record.status == ImportStatus.RETRACTED
    assert storage.get_import(import_id).status == ImportStatus.RETRACTED
    check_figures(storage, [])


def test_a_sale_id_holding_a_unicode_line_separator_is_retracted_like_any_other() -> None:
    """U+2028, U+2029 and U+0085 stay unescaped in the change list's JSON lines; a reader that
    split there could not read the import's changes, so its undo failed on every retry."""
    storage = MemoryStorage()
    plain = build_file(Upload(start=0, length=6, fix=0, shuffle=None, copy_of=None), []).decode("utf-8")
    header, first, *rest = plain.splitlines(keepends=True)
    sale_id = first.split(",")[2]
    odd = "".join(line.replace(f",{sale_id},", f',"{sale_id}\u2028x\u2029y\u0085z",') for line in (first, *rest))
    data = (header + odd).encode("utf-8")
    ref = ObjectRef(BUCKET, "uploads/u.csv", storage.put_object(BUCKET, "uploads/u.csv", data), "e0", 1, T0, "01", "r")
    import_id = import_id_for(ref.bucket, ref.key, ref.version_id, ref.etag)
    assert Ingestor(storage, REJECTS_PREFIX).run(ref).status == ImportStatus.SUCCEEDED
    assert any("\u2028" in s for s in storage.sales)
    check_figures(storage, [data])
    record = Retractor(storage).run(import_id)
    assert record is not None and record.status == ImportStatus.RETRACTED
    check_figures(storage, [])
