"""Embedded Veeam Backup Enterprise Manager REST API simulator (demo and tests).

It is "the other side of the wire": it must not import anything from `veeam_em_mcp` outside this
subpackage. See docs/simulator-contract.md for what the product and the tests rely on.
"""

from .app import create_app
from .config import SimulatorConfig
from .dataset import Dataset, build_dataset
from .runner import RunningSimulator, serve
from .state import SimulatorState

__all__ = [
    "Dataset",
    "RunningSimulator",
    "SimulatorConfig",
    "SimulatorState",
    "build_dataset",
    "create_app",
    "serve",
]
