"""The options of one fleet benchmark run."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Timeouts:
    """Upper bounds (seconds) of every wait; none is a fixed sleep."""
    ceph_start: float = 300.0  # tools/engines/ceph.sh start, incl. a first apt
    ceph_stop: float = 90.0
    command: float = 600.0  # re2po import/push/key, mount.re2po
    mount: float = 60.0  # a mount answering
    daemon_exit: float = 20.0  # a node daemon gone after its unmount
    stats: float = 15.0  # a node rewriting node-stats.json (every ~2 s)
    load: float = 300.0  # one torch.load


@dataclass(frozen=True)
class FleetOptions:
    work_dir: str  # Ceph, stores, node caches, mounts, results
    re2po_binary: str
    mount_binary: str  # mount.re2po
    ceph_script: str  # tools/engines/ceph.sh
    zoo_preset: str = "fleet"  # re2po-bench gen-models --preset
    zoo_dir: str = ""  # default <work>/zoo-<preset>
    regenerate_zoo: bool = False
    runs: int = 3  # measured runs; every load of every run starts cold
    wan_delay_ms: float = 50.0  # one-way delay of the proxy (RTT: twice)
    models: tuple[str, ...] = ()  # only these .pt models (default: all)
    bucket: str = "re2po-fleet-bench"
    keep: bool = False  # keep Ceph's DIR, the store and node caches
    json_path: str = ""
    md_path: str = ""
    command: str = ""  # how the run was started, for the report
    timeouts: Timeouts = field(default_factory=Timeouts)

    @property
    def rtt_ms(self) -> float:
        return 2 * self.wan_delay_ms
