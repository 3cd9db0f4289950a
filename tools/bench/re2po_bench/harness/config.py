"""What a benchmark run does: the presets and the options of one run."""

from dataclasses import dataclass, replace

from .systems import DEFAULT_MOUNT_LAYOUT


@dataclass(frozen=True)
class BenchPreset:
    """How often and how long each phase measures (results.json "config")."""
    ingest_runs: int
    ingest_warmup: int
    read_runs: int
    read_warmup: int
    fio_seconds: int
    scale_counts: tuple[int, ...]
    scale_mount_runs: int
    rss_threads: int  # readers while the mount daemon's memory is sampled
    peer_mounts: bool  # read through restic/borg mounts too


PRESETS = {
    # CI: must finish in well under 2 minutes in total
    "smoke": BenchPreset(ingest_runs=1, ingest_warmup=0, read_runs=2,
                         read_warmup=0, fio_seconds=1, scale_counts=(100,),
                         scale_mount_runs=2, rss_threads=2,
                         peer_mounts=False),
    "small": BenchPreset(ingest_runs=2, ingest_warmup=1, read_runs=3,
                         read_warmup=1, fio_seconds=3, scale_counts=(1000,),
                         scale_mount_runs=3, rss_threads=4,
                         peer_mounts=True),
    "default": BenchPreset(ingest_runs=3, ingest_warmup=1, read_runs=3,
                           read_warmup=1, fio_seconds=5,
                           scale_counts=(1000, 10000), scale_mount_runs=3,
                           rss_threads=4, peer_mounts=True),
}

PHASES = ("size", "reads", "scale")


@dataclass(frozen=True)
class PresetOverrides:
    """Flags that change one setting of the chosen preset (None: keep)."""
    runs: int | None = None  # measured runs of ingest and reads
    warmup: int | None = None  # warm-up runs of ingest and reads
    fio_seconds: int | None = None
    scale_counts: tuple[int, ...] | None = None
    peer_mounts: bool | None = None

    def apply(self, preset: BenchPreset) -> BenchPreset:
        out = preset
        if self.runs is not None:
            out = replace(out, ingest_runs=self.runs, read_runs=self.runs)
        if self.warmup is not None:
            out = replace(out, ingest_warmup=self.warmup,
                          read_warmup=self.warmup)
        if self.fio_seconds:
            out = replace(out, fio_seconds=self.fio_seconds)
        if self.scale_counts:
            out = replace(out, scale_counts=self.scale_counts)
        if self.peer_mounts is not None:
            out = replace(out, peer_mounts=self.peer_mounts)
        return out


@dataclass(frozen=True)
class RunOptions:
    """One run as the command line asked for it, paths made absolute."""
    preset: str
    overrides: PresetOverrides
    work_dir: str  # model set, stores, mounts: its file system is measured
    re2po_binary: str | None  # None: none given and none found
    systems: tuple[str, ...]
    skip: frozenset[str]  # phases not run
    zoo_dir: str  # the model set, generated there if missing
    regenerate_zoo: bool
    cache_size: str | None  # re2po mount -o cache_size=...
    mount_layout: str = DEFAULT_MOUNT_LAYOUT
    install_tools: bool = True  # apt-get install missing peers
    json_path: str = ""
    md_path: str = ""
    keep_stores: bool = False
    command: str = ""  # how the run was started, for the report

    def config(self) -> BenchPreset:
        return self.overrides.apply(PRESETS[self.preset])
