"""The object store over the S3 API (boto3): the one module that imports boto3.

A bucket with versioning and Object Lock (made so when qms creates it; an existing bucket without
Object Lock is refused, since then nothing would stop an edit). Keys are PREFIX/ + the file's
workspace-relative path. Credentials come from the usual AWS_* variables (boto3 reads them) and are
never logged; the endpoint (Ceph RGW, …) from config.yaml storage.s3_endpoint.

What the server enforces is the point: a delete or an overwrite of a locked version is refused by the
server, not by this module (FIELD-NOTES: which servers really do).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

from ..base.dates import now
from ..base.errors import Conflict, QmsError, Refused
from .objects import ObjectVersion

# What a refusal of the server looks like (the lock, a legal hold, a missing permission).
_REFUSED = {"AccessDenied", "InvalidRequest", "ObjectLocked", "InvalidArgument", "MethodNotAllowed"}


class S3Objects:
    remote = True

    def __init__(self, url: str, endpoint: str | None = None):
        parsed = urlparse(url)
        self.url = url
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.endpoint = endpoint or None
        self._client = None

    # ------------------------------------------------------------------ the connection

    @property
    def client(self):
        if self._client is None:
            import boto3  # lazy: boto3 takes ~0.2 s to load; only a workspace with storage.objects needs it
            from botocore.config import Config  # lazy: with boto3
            self._client = boto3.client("s3", endpoint_url=self.endpoint,
                                        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5,
                                                      s3={"addressing_style": "path"}))
        return self._client

    def _errors(self):
        """What a call may raise: the server's answer, or no answer (connection refused, a timeout)."""
        import botocore.exceptions  # lazy: with boto3
        return botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError

    def key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def rel(self, key: str) -> str:
        return key[len(self.prefix) + 1:] if self.prefix else key

    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def ensure_bucket(self) -> None:
        """Create the bucket with Object Lock (versioning comes with it), or check an existing one has it."""
        ClientError = self._errors()
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise self._fail("open the bucket", exc) from None
            try:
                self.client.create_bucket(Bucket=self.bucket, ObjectLockEnabledForBucket=True)
            except ClientError as exc2:
                raise self._fail("create the bucket", exc2) from None
        try:
            conf = self.client.get_object_lock_configuration(Bucket=self.bucket)
            enabled = conf.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
        except ClientError:
            enabled = False
        if not enabled:
            raise Refused(f"bucket {self.bucket!r} has no Object Lock: archived files there could be edited or "
                          "deleted; use a bucket created with Object Lock (qms creates one when the bucket does "
                          "not exist)", field="storage.objects")

    def _fail(self, what: str, exc) -> QmsError:
        code = _code(exc)
        if code in ("403", "RequestTimeTooSkewed", "SignatureDoesNotMatch", "InvalidAccessKeyId"):
            return Refused(f"the object store refused to {what}: {code} (the AWS_* credentials are wrong, or this "
                           "machine's clock is off from the server's)", file=self.where())
        if code in _REFUSED:
            return Refused(f"the object store refused to {what}: {code} ({_message(exc)})", file=self.where())
        return QmsError(f"could not {what} in {self.where()}: " + (f"{code} ({_message(exc)})" if code else _message(exc)),
                        file=self.where())

    # ------------------------------------------------------------------ the interface

    def put(self, rel: str, data: bytes, *, replace: bool = False, mode: str | None = None,
            until: dt.datetime | None = None, hold: bool = False) -> str:
        """Write once; `replace` only for a manifest (a new version beside the old, which stays).
        Returns the VersionId."""
        ClientError = self._errors()
        key = self.key(rel)
        if not replace and self.exists(rel):
            raise Conflict("refusing to overwrite an object in the write-once bucket", file=f"{self.where()}/{rel}")
        args = {"Bucket": self.bucket, "Key": key, "Body": data,
                "Metadata": {"sha256": hashlib.sha256(data).hexdigest()}}
        if mode and until:
            args |= {"ObjectLockMode": mode, "ObjectLockRetainUntilDate": until}
        if hold:
            args["ObjectLockLegalHoldStatus"] = "ON"
        try:
            return self.client.put_object(**args).get("VersionId") or ""
        except ClientError as exc:
            raise self._fail(f"write {rel}", exc) from None

    def exists(self, rel: str) -> bool:
        ClientError = self._errors()
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(rel))
            return True
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._fail(f"look up {rel}", exc) from None

    def get(self, rel: str, version_id: str | None = None) -> bytes:
        ClientError = self._errors()
        args = {"Bucket": self.bucket, "Key": self.key(rel)} | ({"VersionId": version_id} if version_id else {})
        try:
            return self.client.get_object(**args)["Body"].read()
        except ClientError as exc:
            raise self._fail(f"read {rel}", exc) from None

    def versions(self, folder: str = "") -> list[ObjectVersion]:
        """Every version under `folder` (workspace-relative; "" = the whole prefix), newest first per key."""
        ClientError = self._errors()
        prefix = self.key(folder.rstrip("/") + "/") if folder else (self.prefix + "/" if self.prefix else "")
        out = []
        try:
            for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix):
                for v in page.get("Versions", []):
                    out.append(ObjectVersion(self.rel(v["Key"]), v.get("VersionId") or "", v.get("Size", 0),
                                             bool(v.get("IsLatest")), v["LastModified"]))
                for m in page.get("DeleteMarkers", []):
                    out.append(ObjectVersion(self.rel(m["Key"]), m.get("VersionId") or "", 0,
                                             bool(m.get("IsLatest")), m["LastModified"], deleted=True))
        except ClientError as exc:
            raise self._fail(f"list {folder or 'the objects'}", exc) from None
        out.sort(key=lambda v: (v.rel, -v.modified.timestamp()))
        return out

    def delete_version(self, rel: str, version_id: str) -> None:
        """Delete one version for good (not a delete marker): the server refuses while it is locked or held."""
        ClientError = self._errors()
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(rel), VersionId=version_id)
        except ClientError as exc:
            raise self._fail(f"delete {rel} (version {version_id})", exc) from None

    def retain(self, rel: str, version_id: str, *, mode: str, until: dt.datetime) -> None:
        ClientError = self._errors()
        try:
            self.client.put_object_retention(Bucket=self.bucket, Key=self.key(rel), VersionId=version_id,
                                             Retention={"Mode": mode, "RetainUntilDate": until})
        except ClientError as exc:
            raise self._fail(f"set the retention of {rel}", exc) from None

    def retention(self, rel: str, version_id: str) -> tuple[str | None, dt.datetime | None]:
        mode, until, _ = self._lock_state(rel, version_id)
        return mode, until

    def _lock_state(self, rel: str, version_id: str) -> tuple[str | None, dt.datetime | None, bool]:
        """(mode, retain until, legal hold) of a version, from its HEAD (GetObjectRetention is not in
        every server: moto 5 has none; HEAD carries the same three)."""
        ClientError = self._errors()
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=self.key(rel), VersionId=version_id)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NoSuchVersion"):
                return None, None, False
            raise self._fail(f"read the lock of {rel}", exc) from None
        until = r.get("ObjectLockRetainUntilDate")
        if isinstance(until, str):        # a server that sends it in a shape botocore does not parse
            until = dt.datetime.fromisoformat(until.replace("Z", "+00:00"))
        return r.get("ObjectLockMode"), until, r.get("ObjectLockLegalHoldStatus") == "ON"

    def legal_hold(self, rel: str, version_id: str, on: bool) -> None:
        ClientError = self._errors()
        try:
            self.client.put_object_legal_hold(Bucket=self.bucket, Key=self.key(rel), VersionId=version_id,
                                              LegalHold={"Status": "ON" if on else "OFF"})
        except ClientError as exc:
            raise self._fail(f"{'place' if on else 'release'} the legal hold on {rel}", exc) from None

    def held(self, rel: str, version_id: str) -> bool:
        return self._lock_state(rel, version_id)[2]

    def server_now(self) -> dt.datetime:
        """The server's clock (its Date header): the one a lock is judged by, whatever ours says."""
        ClientError = self._errors()
        try:
            r = self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            raise self._fail("reach the bucket", exc) from None
        date = (r.get("ResponseMetadata", {}).get("HTTPHeaders") or {}).get("date")
        return parsedate_to_datetime(date) if date else now()


def _code(exc) -> str:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))


def _message(exc) -> str:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Message", "")) or str(exc) or "no detail"
