"""The simulator over real sockets: RunningSimulator on loopback (plain and TLS), clean stop, and the
`python -m veeam_em_mcp.simulator` command keeping stdout clean."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import trustme

from veeam_em_mcp.simulator.dataset import Dataset
from veeam_em_mcp.simulator.runner import RunningSimulator

USER = "DEMO\\demo"
PASSWORD = "demo-password"
SERVER_DIR = str(Path(__file__).resolve().parents[2] / "server")


def test_loopback_round_trip_and_clean_stop() -> None:
    # How fast it starts is measured by bench/sim_perf.py, not asserted here.
    sim = RunningSimulator()  # default dataset, built here
    sim.start()
    try:
        assert sim.base_url == f"http://127.0.0.1:{sim.port}"
        with httpx.Client(base_url=sim.base_url) as c:
            root = c.get("/api/")
            assert root.status_code == 200
            assert root.headers.get_list("server") == ["Microsoft-HTTPAPI/2.0"]
            assert f"{sim.base_url}/api/sessionMngr/?v=latest" in root.text
            r = c.post("/api/sessionMngr/?v=latest", auth=(USER, PASSWORD))
            assert r.status_code == 201
            # The cookie jar carries the session from here on.
            q = c.get("/api/query?type=VmRestorePoint&filter=VmName==sql01&pageSize=5",
                      headers={"Accept": "application/json"})
            assert q.status_code == 200 and q.json()["PagingInfo"]["PagesCount"] == 6
        assert sim.state.logons == 1 and sim.state.requests == 3
    finally:
        sim.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", sim.port), timeout=1):
        pass


def test_context_manager_with_given_port_and_dataset(sim_dataset: Dataset) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with RunningSimulator(dataset=sim_dataset, port=port) as sim:
        assert sim.port == port
        assert httpx.get(f"{sim.base_url}/api/backupServers").status_code == 401


def test_tls(tmp_path: Path, sim_dataset: Dataset) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    with RunningSimulator(dataset=sim_dataset, ssl_certfile=str(certfile), ssl_keyfile=str(keyfile)) as sim:
        assert sim.base_url.startswith("https://127.0.0.1:")
        with httpx.Client(base_url=sim.base_url, verify=ctx) as c:
            r = c.post("/api/sessionMngr/?v=latest", auth=(USER, PASSWORD), headers={"Accept": "application/json"})
            assert r.status_code == 201
            assert r.json()["Links"][-1]["Href"].startswith(f"{sim.base_url}/api/logonSessions/")


@pytest.mark.parametrize(("flags", "check"), [
    (["--json-casing", "camel"], "camel"),
    (["--json-dialect", "13", "--running-end-time", "min", "--unsorted-order", "shuffle"], "v13"),
])
def test_module_command_serves_and_keeps_stdout_clean(flags: list[str], check: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": SERVER_DIR + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "veeam_em_mcp.simulator", "--port", str(port), "--vm-count", "12", "--days", "5",
         *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/", headers={"Accept": "application/json"})
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert "supportedVersions" in r.json()
        if check == "v13":
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Accept": "application/json"}) as c:
                assert c.post("/api/sessionMngr/?v=latest", auth=(USER, PASSWORD)).status_code == 201
                body = c.get("/api/query?type=BackupJobSession&format=Entities&filter=State==Working").json()
                [running] = body["entities"]["backupJobSessions"]["backupJobSessions"]
                assert (running["endTimeUTC"], running["result"], running["state"]) == (
                    "0001-01-01T00:00:00Z", "None", "Working")
                assert len(body["entities"]) == 50 and body["refs"] is None
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert out == b""
    assert b"listening on http://127.0.0.1" in err
