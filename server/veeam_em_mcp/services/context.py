"""What every Enterprise Manager operation needs, held once per process.

One ``EmContext`` lives for the whole server process (the MCP lifespan yields it): the validated
settings, the one shared EM client (one logon session for every call), the link policy that vets
hrefs, the result budget, and the VM-name index that completions share. Services take it as their
first argument; they know nothing of MCP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..client import EnterpriseManagerClient
from ..config import Settings
from ..representation.links import LinkPolicy
from .budget import ResultBudget
from .completion import VmNameIndex
from .flights import SingleFlight
from .stores import SnapshotStore, store_from_settings


@dataclass
class EmContext:
    settings: Settings
    client: EnterpriseManagerClient
    policy: LinkPolicy = field(init=False)
    budget: ResultBudget = field(init=False)
    vm_names: VmNameIndex = field(default_factory=VmNameIndex)
    # The EM session state (logged on, as whom) last announced to veeam-em://enterpriseManager subscribers.
    announced_em_session: tuple[bool, str | None] | None = None
    # Answers read over several cursor pages (this process, or a store every replica shares) and the
    # computations in flight, which identical concurrent questions share.
    snapshots: SnapshotStore = field(init=False)
    flights: SingleFlight = field(default_factory=SingleFlight)
    # Query types this EM refused (400): older EMs lack some (ReplicaJobSession…); not asked again.
    unsupported: set[str] = field(default_factory=set)
    # How fresh EM's data is (services.freshness), kept briefly: (monotonic time, (depth read, answer)).
    freshness: tuple[float, object] | None = None
    # Bytes per item of each query type, as the last window's page 1 weighed them (services.querying): a later
    # window's first page is sized by it, so a type whose items are heavy (jobs with members) is not asked for
    # in a page over VEEAM_EM_MAX_RESPONSE_BYTES first.
    item_bytes: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.policy = LinkPolicy(self.settings.base_url)
        self.budget = ResultBudget.of(self.settings)
        self.snapshots = store_from_settings(self.settings)

    @property
    def base_url(self) -> str:
        return self.settings.base_url
