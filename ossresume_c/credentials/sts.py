"""STS calls (AssumeRole, AssumeRoleWithOIDC) as the official credential SDKs make
them: GET with the RPC parameters in the query, answer in JSON.

The endpoint is ``https://sts.aliyuncs.com`` unless ``ALIBABA_CLOUD_STS_REGION``
names a region (``sts.<region>.aliyuncs.com``, ``sts-vpc.`` when
``ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true``); ``OSSRESUME_STS_ENDPOINT`` (a full
URL, ours) overrides both.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from typing import Dict, Mapping, Optional
from urllib.parse import urlencode

from ..auth import Credentials
from . import rpcsign
from .base import CredentialsError, ExpiringCredentials, credentials_from_json, http_json

ENV_STS_ENDPOINT = "OSSRESUME_STS_ENDPOINT"
API_VERSION = "2015-04-01"
DEFAULT_DURATION = 3600


def sts_endpoint(env: Optional[Mapping[str, str]] = None, region: Optional[str] = None,
                 vpc: Optional[bool] = None) -> str:
    env = os.environ if env is None else env
    override = env.get(ENV_STS_ENDPOINT)
    if override:
        return override.rstrip("/")
    if vpc is None:
        vpc = env.get("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED", "").lower() == "true"
    region = region or env.get("ALIBABA_CLOUD_STS_REGION")
    if region:
        return f"https://{'sts-vpc' if vpc else 'sts'}.{region}.aliyuncs.com"
    return "https://sts.aliyuncs.com"


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _call(endpoint: str, params: Dict[str, str], what: str) -> ExpiringCredentials:
    answer = http_json("GET", f"{endpoint}/?{urlencode(params)}", what, timeout=10.0)
    creds = answer.get("Credentials")
    if not isinstance(creds, dict):
        raise CredentialsError(f"{what}: the answer has no Credentials")
    return credentials_from_json(creds, what)


def _common(action: str, role_arn: str, session_name: str, duration: int,
            policy: Optional[str]) -> Dict[str, str]:
    params = {"Action": action, "Format": "JSON", "Version": API_VERSION,
              "DurationSeconds": str(int(duration)), "RoleArn": role_arn,
              "RoleSessionName": session_name, "Timestamp": _timestamp()}
    if policy:
        params["Policy"] = policy
    return params


def assume_role(source: Credentials, role_arn: str, session_name: str, endpoint: str,
                duration: int = DEFAULT_DURATION, policy: Optional[str] = None,
                external_id: Optional[str] = None) -> ExpiringCredentials:
    """AssumeRole, signed with ``source`` (an AccessKey, or STS credentials)."""
    params = _common("AssumeRole", role_arn, session_name, duration, policy)
    if external_id:
        params["ExternalId"] = external_id
    params.update({"AccessKeyId": source.access_key_id,
                   "SignatureMethod": rpcsign.SIGNATURE_METHOD,
                   "SignatureVersion": rpcsign.SIGNATURE_VERSION,
                   "SignatureNonce": uuid.uuid4().hex})
    if source.security_token:
        params["SecurityToken"] = source.security_token
    params["Signature"] = rpcsign.sign("GET", params, source.access_key_secret)
    return _call(endpoint, params, f"STS AssumeRole {role_arn} at {endpoint}")


def assume_role_with_oidc(role_arn: str, provider_arn: str, oidc_token: str, session_name: str,
                          endpoint: str, duration: int = DEFAULT_DURATION,
                          policy: Optional[str] = None) -> ExpiringCredentials:
    """AssumeRoleWithOIDC: the OIDC token is the proof, no AccessKey signs it
    (the official SDKs send it unsigned too)."""
    params = _common("AssumeRoleWithOIDC", role_arn, session_name, duration, policy)
    params.update({"OIDCProviderArn": provider_arn, "OIDCToken": oidc_token})
    return _call(endpoint, params, f"STS AssumeRoleWithOIDC {role_arn} at {endpoint}")
