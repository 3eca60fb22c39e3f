"""veeam-em-mcp over stdio as ``serve`` runs it, in a process of its own, plus what a benchmark sees from inside.

Started by a benchmark (``harness.recording_server_params``) so that the server's memory is the product's alone
(the simulator and the benchmark's client, replays and floors run in other processes). Two additions to the
product's own server, neither on the path of any other tool:

- its EM transport is ``harness.Recording``: every request is noted (method, URL) and the bytes read counted,
  the body passed through as it arrives;
- one more tool, ``bench_stats``: a JSON text with the EM requests recorded since the last reset, the bytes
  read, this process's peak and current RSS (``VmHWM``/``VmRSS``, and ``ru_maxrss``), its CPU time, and where
  ``veeam_em_mcp`` was imported from (to show which code was measured). ``reset=true`` empties the record.

Settings come from the environment as for ``serve`` (``VEEAM_EM_URL`` and the rest).
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import veeam_em_mcp
from harness import Recording, process_memory
from veeam_em_mcp.cli import configure_logging
from veeam_em_mcp.config import Settings

try:
    from veeam_em_mcp.surface.server import build_server
except ModuleNotFoundError:  # a version from before the surface/ folder (--before, --simulator-from): its path
    from veeam_em_mcp.server import build_server  # type: ignore[no-redef]


def main() -> int:
    configure_logging()
    recording = Recording()
    server = build_server(Settings.from_env(), transport=recording)

    @server.tool(name="bench_stats", description="Benchmark only: EM requests recorded and this process's memory.")
    def bench_stats(reset: bool = False) -> str:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        stats = {
            "requests": [list(request) for request in recording.requests],
            "bytes_read": recording.bytes,
            **process_memory(),
            "ru_maxrss_kib": usage.ru_maxrss,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "veeam_em_mcp": veeam_em_mcp.__file__,
            "version": getattr(veeam_em_mcp, "__version__", None),
        }
        if reset:
            recording.reset()
        return json.dumps(stats)

    server.run("stdio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
