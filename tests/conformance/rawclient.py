"""A minimal signed OSS client over http.client, for emulator tests that need
control of the exact bytes on the wire (the official SDKs hide them)."""
from __future__ import annotations

import http.client
from typing import Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote, urlsplit

from ossresume_c import auth

Query = List[Tuple[str, Optional[str]]]


class Reply:
    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body[:200]!r})"


class RawClient:
    def __init__(
        self, endpoint: str, access_key_id: str, access_key_secret: str, region: str = "cn-hangzhou", version: int = 4
    ) -> None:
        parts = urlsplit(endpoint)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.creds = auth.Credentials(access_key_id, access_key_secret)
        self.region = region
        self.version = version
        self._conn: Optional[http.client.HTTPConnection] = None

    def connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def sign(self, method: str, bucket: str, key: str, query: Query, headers: Dict[str, str]) -> None:
        if self.version == 1:
            auth.sign_v1(method, bucket or None, key or None, query, headers, self.creds)
        else:
            auth.sign_v4(method, bucket or None, key or None, query, headers, self.creds, self.region)

    @staticmethod
    def path_for(bucket: str, key: str) -> str:
        if not bucket:
            return "/"
        return "/" + bucket + "/" + quote(key, safe="")

    def request(
        self,
        method: str,
        bucket: str = "",
        key: str = "",
        query: Optional[Query] = None,
        headers: Optional[Mapping[str, str]] = None,
        body: bytes = b"",
        sign: bool = True,
        raw_path: Optional[str] = None,
    ) -> Reply:
        query = list(query or [])
        hdrs: Dict[str, str] = dict(headers or {})
        if sign:
            self.sign(method, bucket, key, query, hdrs)
        target = raw_path or self.path_for(bucket, key)
        if query:
            target += "?" + auth.encode_query(query)
        conn = self.connection()
        try:
            conn.request(method, target, body=body if (body or method in ("PUT", "POST")) else None, headers=hdrs)
            response = conn.getresponse()
            data = response.read()
        except Exception:
            self.close()
            raise
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        if response.will_close:
            self.close()
        return reply
