"""Lock conformance: does the S3 server qms writes to really keep what Object Lock promises?

Runs in `make test` against moto's server (API behaviour) and in `make test-ceph` against a real
endpoint (QMS_TEST_S3_ENDPOINT + AWS_* keys, e.g. a Ceph RGW). Each case goes through the object
store qms uses (store/s3_objects.py) where qms would, and around it with plain boto3 where someone
else would. moto's known gaps are marked xfail with the reason, on moto only: a real server that
fails them fails here.
"""

from __future__ import annotations

import datetime as dt
import uuid

import boto3
import pytest

from qms.base.errors import Conflict, Refused
from qms.store.objects import COMPLIANCE, GOVERNANCE
from qms.store.s3_objects import S3Objects

MOTO_GAP = "moto 5 does not enforce this (FIELD-NOTES 'Several machines'): it proves API use, not WORM"


@pytest.fixture
def store(s3_server) -> S3Objects:
    s = S3Objects(s3_server.bucket_url(), s3_server.endpoint)
    s.ensure_bucket()
    return s


@pytest.fixture
def raw(s3_server):
    return boto3.client("s3", endpoint_url=s3_server.endpoint)


@pytest.fixture
def moto_gap(request, s3_server):
    """Mark the test xfail (strict) when the server is moto, which is known not to enforce it."""
    if s3_server.kind == "moto":
        request.applymarker(pytest.mark.xfail(reason=MOTO_GAP, strict=True))


def soon(days: int = 1) -> dt.datetime:
    # a real server keeps a COMPLIANCE version for good until then: a day is the least litter
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)).replace(microsecond=0)


def locked(store: S3Objects, mode: str = COMPLIANCE, until: dt.datetime | None = None) -> tuple[str, str]:
    rel = f"archive/records/T/{uuid.uuid4().hex[:8]}/v1/data.yaml"
    return rel, store.put(rel, b"number: T-0001\n", mode=mode, until=until or soon())


# ------------------------------------------------------------------ overwrite

def test_the_store_refuses_to_overwrite_a_key(store):
    rel, vid = locked(store)
    with pytest.raises(Conflict, match="refusing to overwrite"):
        store.put(rel, b"number: forged\n")
    assert [v.version_id for v in store.versions(rel.rsplit("/", 1)[0])] == [vid]


def test_a_version_put_beside_a_locked_one_leaves_it_unchanged(store, raw):
    # Object Lock keeps versions, it does not stop new ones: verify reports the second version
    rel, vid = locked(store)
    raw.put_object(Bucket=store.bucket, Key=store.key(rel), Body=b"number: forged\n")
    assert store.get(rel, vid) == b"number: T-0001\n"
    assert len(store.versions(rel.rsplit("/", 1)[0])) == 2


# ------------------------------------------------------------------ delete

def test_a_compliance_version_cannot_be_deleted(store, raw):
    rel, vid = locked(store)
    with pytest.raises(Refused):
        store.delete_version(rel, vid)
    with pytest.raises(raw.exceptions.ClientError):          # not even by a governance bypass
        raw.delete_object(Bucket=store.bucket, Key=store.key(rel), VersionId=vid, BypassGovernanceRetention=True)
    assert store.get(rel, vid) == b"number: T-0001\n"


def test_a_delete_without_a_version_only_hides_the_object(store, raw):
    rel, vid = locked(store)
    raw.delete_object(Bucket=store.bucket, Key=store.key(rel))          # a delete marker
    assert store.get(rel, vid) == b"number: T-0001\n"
    assert any(v.deleted for v in store.versions(rel.rsplit("/", 1)[0]))


def test_a_governance_version_needs_a_deliberate_bypass(store, raw):
    rel, vid = locked(store, GOVERNANCE)
    with pytest.raises(Refused):
        store.delete_version(rel, vid)
    raw.delete_object(Bucket=store.bucket, Key=store.key(rel), VersionId=vid, BypassGovernanceRetention=True)
    assert store.versions(rel.rsplit("/", 1)[0]) == []


# ------------------------------------------------------------------ retention

def test_retention_can_be_extended(store):
    rel, vid = locked(store)
    later = soon(2)
    store.retain(rel, vid, mode=COMPLIANCE, until=later)
    assert store.retention(rel, vid) == (COMPLIANCE, later)


def test_retention_cannot_be_shortened(store, moto_gap):
    rel, vid = locked(store, until=soon(2))
    with pytest.raises(Refused):
        store.retain(rel, vid, mode=COMPLIANCE, until=soon(1))


def test_compliance_cannot_be_downgraded_to_governance(store, moto_gap):
    rel, vid = locked(store)
    with pytest.raises(Refused):
        store.retain(rel, vid, mode=GOVERNANCE, until=soon())


def test_a_retention_date_in_the_past_is_refused(store, moto_gap):
    rel = f"archive/records/T/{uuid.uuid4().hex[:8]}/v1/data.yaml"
    with pytest.raises(Refused):
        store.put(rel, b"x", mode=COMPLIANCE, until=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))


# ------------------------------------------------------------------ legal hold

def test_a_legal_hold_stops_a_delete_until_it_is_released(store):
    rel = f"archive/records/T/{uuid.uuid4().hex[:8]}/v1/data.yaml"
    vid = store.put(rel, b"number: T-0002\n", hold=True)
    assert store.held(rel, vid)
    with pytest.raises(Refused):
        store.delete_version(rel, vid)
    store.legal_hold(rel, vid, False)
    assert not store.held(rel, vid)
    store.delete_version(rel, vid)
    assert store.versions(rel.rsplit("/", 1)[0]) == []


def test_a_legal_hold_outlasts_the_retention(store):
    rel, vid = locked(store)
    store.legal_hold(rel, vid, True)
    assert store.held(rel, vid) and store.retention(rel, vid)[0] == COMPLIANCE


# ------------------------------------------------------------------ the bucket

def test_a_bucket_without_object_lock_is_refused(s3_server, raw):
    name = f"qms-nolock-{uuid.uuid4().hex[:10]}"
    raw.create_bucket(Bucket=name)
    with pytest.raises(Refused, match="no Object Lock"):
        S3Objects(f"s3://{name}/p", s3_server.endpoint).ensure_bucket()
