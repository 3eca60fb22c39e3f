"""TLS against the simulator served over HTTPS with certificates the test generates (trustme).

Covers the three ways to trust EM: a CA bundle, a pinned SHA-256 fingerprint of a self-signed
certificate (the usual EM case), and verification off; and that an untrusted certificate fails
before any request (so before the credentials) reaches the server.
"""

from __future__ import annotations

import hashlib
import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from veeam_em_mcp.client import EnterpriseManagerClient, tls_verify_setting
from veeam_em_mcp.errors import TlsVerificationFailed
from veeam_em_mcp.simulator.runner import RunningSimulator

from .conftest import ANCHOR, SQL01_POINT, make_settings

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    other = trustme.CA()
    paths["other_ca"] = folder / "other-ca.pem"
    other.cert_pem.write_to_path(str(paths["other_ca"]))
    return paths


@pytest.fixture(scope="module")
def https_simulator(tls_files: dict[str, Path]) -> Iterator[RunningSimulator]:
    from veeam_em_mcp.simulator.dataset import build_dataset

    running = RunningSimulator(
        dataset=build_dataset(anchor=ANCHOR),
        ssl_certfile=str(tls_files["cert"]),
        ssl_keyfile=str(tls_files["key"]),
    )
    running.start()
    yield running
    running.stop()


def fingerprint(cert_path: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(cert_path.read_text())
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


async def fetch(settings_env: dict[str, str], base_url: str) -> str | None:
    client = EnterpriseManagerClient(make_settings(base_url, env=settings_env), retry_base_delay=0.01)
    async with client:
        doc = await client.get(f"{base_url}/api/vmRestorePoints/{SQL01_POINT}?format=Entity")
    return doc.root


async def test_untrusted_certificate_fails_before_any_request(https_simulator: RunningSimulator) -> None:
    before = len(https_simulator.state.request_log)
    with pytest.raises(TlsVerificationFailed, match="VEEAM_EM_CA_BUNDLE") as failed:
        await fetch({}, https_simulator.base_url)
    assert "VEEAM_EM_TLS_FINGERPRINT" in str(failed.value)
    assert len(https_simulator.state.request_log) == before


async def test_wrong_ca_bundle_fails(https_simulator: RunningSimulator, tls_files: dict[str, Path]) -> None:
    with pytest.raises(TlsVerificationFailed):
        await fetch({"VEEAM_EM_CA_BUNDLE": str(tls_files["other_ca"])}, https_simulator.base_url)


async def test_ca_bundle_is_trusted(https_simulator: RunningSimulator, tls_files: dict[str, Path]) -> None:
    before = len(https_simulator.state.request_log)
    assert await fetch({"VEEAM_EM_CA_BUNDLE": str(tls_files["ca"])}, https_simulator.base_url) == "VmRestorePoint"
    # logon, GET, logout: the request log does see requests that pass TLS
    assert len(https_simulator.state.request_log) >= before + 3


async def test_a_trust_setting_builds_one_context_and_a_replaced_bundle_is_read_anew(
    https_simulator: RunningSimulator, tls_files: dict[str, Path], tmp_path: Path
) -> None:
    # Loading a CA store costs ~20 ms of CPU; every client (one per HTTP session) shares the context its setting built.
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(tls_files["ca"].read_bytes())
    settings = make_settings(https_simulator.base_url, env={"VEEAM_EM_CA_BUNDLE": str(bundle)})
    first = tls_verify_setting(settings)
    assert isinstance(first, ssl.SSLContext) and tls_verify_setting(settings) is first
    assert await fetch({"VEEAM_EM_CA_BUNDLE": str(bundle)}, https_simulator.base_url) == "VmRestorePoint"
    # The bundle replaced in place (a rotated CA): the next client trusts what the file now says.
    bundle.write_bytes(tls_files["other_ca"].read_bytes())
    os.utime(bundle, ns=(bundle.stat().st_atime_ns, bundle.stat().st_mtime_ns + 1_000_000_000))
    assert tls_verify_setting(settings) is not first
    with pytest.raises(TlsVerificationFailed):
        await fetch({"VEEAM_EM_CA_BUNDLE": str(bundle)}, https_simulator.base_url)


async def test_pinned_fingerprint_is_trusted(https_simulator: RunningSimulator, tls_files: dict[str, Path]) -> None:
    pin = fingerprint(tls_files["cert"])
    assert await fetch({"VEEAM_EM_TLS_FINGERPRINT": pin}, https_simulator.base_url) == "VmRestorePoint"


async def test_wrong_fingerprint_fails_before_any_request(https_simulator: RunningSimulator) -> None:
    before = len(https_simulator.state.request_log)
    logons = https_simulator.state.logons
    with pytest.raises(TlsVerificationFailed, match="fingerprint mismatch"):
        await fetch({"VEEAM_EM_TLS_FINGERPRINT": "ab" * 32}, https_simulator.base_url)
    assert len(https_simulator.state.request_log) == before
    assert https_simulator.state.logons == logons


async def test_verification_off_still_works(https_simulator: RunningSimulator) -> None:
    assert await fetch({"VEEAM_EM_VERIFY_TLS": "false"}, https_simulator.base_url) == "VmRestorePoint"


async def test_plain_http_client_against_https_port_says_so(https_simulator: RunningSimulator) -> None:
    http_url = https_simulator.base_url.replace("https://", "http://")
    with pytest.raises(Exception) as failed:
        await fetch({}, http_url)
    assert "Enterprise Manager" in str(failed.value)
