"""The health probe's contract: `MemoryHealthProbe` and `AwsHealthProbe` on moto answer alike:
a table and bucket that exist pass, a missing one raises."""

from __future__ import annotations

import pytest

from tests.contract.support import Probes
from tests.moto_resources import BUCKET


def test_the_table_and_an_existing_bucket_pass_their_checks(probes: Probes) -> None:
    assert probes.reachable.check_table() is None
    assert probes.reachable.check_bucket(BUCKET) is None


def test_a_missing_table_fails_its_check(probes: Probes) -> None:
    with pytest.raises(Exception, match="ResourceNotFound"):
        probes.no_table.check_table()


def test_a_missing_bucket_fails_its_check(probes: Probes) -> None:
    with pytest.raises(Exception, match="NoSuchBucket"):
        probes.reachable.check_bucket("no-such-bucket-here")
