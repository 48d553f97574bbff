"""Rule files from S3 (`rules/<source>.yaml|yml|json`), cached by ETag across invocations.

Within `max_age` seconds a cached file is used without asking S3; after that a conditional GET
(`If-None-Match`) costs one small request. When a newly published file is invalid, the last good
version stays in use (and `on_invalid` is told, for logs and metrics). A container that starts after
a bad upload has no good version of its own, so it looks back through the object's previous versions
in the (versioned) bucket and uses the newest one that parses; only when none does are the invalid
file's located problems raised. Unknown sources are remembered for `max_age` too, so junk requests
to `/hooks/<anything>` do not reach S3 each time.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from botocore.exceptions import ClientError

from mapping.exceptions import RuleFileError

__all__ = ["RuleStore", "StoreError", "UnknownSourceError"]

T = TypeVar("T")
SUFFIXES = (".yaml", ".yml", ".json")
HISTORY = 10  # versions listed (the invalid current one included) when nothing good is cached
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
logger = logging.getLogger(__name__)


class UnknownSourceError(KeyError):
    """No rule file exists for this source."""


class StoreError(Exception):
    """S3 could not be read (the caller answers 503 / retries; nothing is lost)."""


@dataclass
class _Entry(Generic[T]):
    key: str | None  # None: known not to exist
    etag: str | None
    value: T | None
    checked_at: float
    problems: RuleFileError | None = None  # the newest version's problems, when it was rejected


class RuleStore(Generic[T]):
    """Loads and caches one parsed value per source.

    Parameters
    ----------
    s3:
        boto3 S3 client.
    bucket, prefix:
        Where rule files live (`rules/` by default).
    parse:
        `parse(text, name, version_id) -> T`; raises `RuleFileError` for an invalid file.
    max_age:
        Seconds a cached answer is trusted before S3 is asked again.
    on_invalid:
        Called with (source, error) when a newer file is rejected.
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        parse: Callable[[str, str, str | None], T],
        *,
        prefix: str = "rules/",
        max_age: float = 5.0,
        on_invalid: Callable[[str, RuleFileError], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self.parse = parse
        self.max_age = max_age
        self.on_invalid = on_invalid
        self.clock = clock
        self._entries: dict[str, _Entry[T]] = {}
        self._lock = threading.Lock()

    def get(self, source: str) -> T:
        """The parsed rule file of `source`.

        Raises
        ------
        UnknownSourceError
            No `rules/<source>.(yaml|yml|json)` object (or an invalid source name).
        RuleFileError
            The file is invalid and neither the cache nor the last `HISTORY` versions hold a good one.
        StoreError
            S3 failed.
        """
        if not _SOURCE.match(source or ""):
            raise UnknownSourceError(source)
        with self._lock:
            entry = self._entries.get(source)
            if entry is None or self.clock() - entry.checked_at >= self.max_age:
                entry = self._refresh(source, entry)
                self._entries[source] = entry
        if entry.key is None:
            raise UnknownSourceError(source)
        if entry.value is None:
            raise entry.problems or RuleFileError([])
        return entry.value

    def _refresh(self, source: str, entry: _Entry[T] | None) -> _Entry[T]:
        now = self.clock()
        if entry is not None and entry.key is not None:
            response = self._get(entry.key, entry.etag)
            if response == "not-modified":
                entry.checked_at = now
                return entry
            if response is not None:
                return self._load(source, entry.key, response, entry, now)
        for suffix in SUFFIXES:  # first load, or the file moved to another suffix
            key = f"{self.prefix}{source}{suffix}"
            response = self._get(key, None)
            if response is not None and response != "not-modified":
                return self._load(source, key, response, entry, now)
        return _Entry(None, None, None, now)

    def _load(self, source: str, key: str, response: dict[str, Any], previous: _Entry[T] | None, now: float):
        text = response["Body"].read().decode("utf-8", "replace")
        version = response.get("VersionId")
        version = version if version and version != "null" else None  # "null": an unversioned bucket
        try:
            value = self.parse(text, key, version)
        except RuleFileError as exc:
            if previous is not None and previous.value is not None:
                good_key, good = previous.key, previous.value
            else:
                # A container that started after the bad upload has nothing cached: ask the bucket.
                good_key, good = key, self._newest_good_version(key, version)
            if self.on_invalid is not None:
                self.on_invalid(source, exc)
            # Keep serving the last good version (if any); re-read when the object changes again.
            return _Entry(good_key, response.get("ETag"), good, now, exc)
        return _Entry(key, response.get("ETag"), value, now)

    def _newest_good_version(self, key: str, current: str | None) -> T | None:
        """The newest earlier version of `key` that parses, among its last `HISTORY` versions."""
        if current is None:  # an unversioned bucket keeps no history
            return None
        try:
            listing = self.s3.list_object_versions(Bucket=self.bucket, Prefix=key, MaxKeys=HISTORY)
            for item in listing.get("Versions", []):  # S3 lists each key's versions newest first
                if item["Key"] != key or item["VersionId"] == current:  # the prefix also matches longer keys
                    continue
                response = self.s3.get_object(Bucket=self.bucket, Key=key, VersionId=item["VersionId"])
                try:
                    return self.parse(response["Body"].read().decode("utf-8", "replace"), key, item["VersionId"])
                except RuleFileError:
                    continue
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise StoreError(f"cannot read earlier versions of s3://{self.bucket}/{key}: {code or exc}") from exc
        return None

    def _get(self, key: str, etag: str | None) -> dict[str, Any] | str | None:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if etag:
            kwargs["IfNoneMatch"] = etag
        try:
            return self.s3.get_object(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("304", "NotModified") or status == 304:
                return "not-modified"
            if code in ("NoSuchKey", "404") or status == 404:
                return None
            raise StoreError(f"cannot read s3://{self.bucket}/{key}: {code or exc}") from exc
