"""The one settings object: every knob is a ``GUARDID_*`` environment variable."""

from __future__ import annotations

import datetime as dt
import ipaddress
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    """Where the service runs; production refuses unsafe defaults."""

    development = "development"
    test = "test"
    production = "production"


def _default_datasets() -> Path | None:
    """Return ``../shared/data`` when it exists beside the checkout, else None."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None


class Settings(BaseSettings):
    """guardid configuration, read from ``GUARDID_*`` variables (and ``.env``)."""

    model_config = SettingsConfigDict(env_prefix="GUARDID_", env_file=".env", extra="ignore")

    env: Environment = Environment.development
    var_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file var/guardid.db"
    )
    keyring_file: Path | None = Field(
        default=None,
        description="Master-key ring (JSON, mode 0600); default var/keyring.json. "
        "Generated on first run in development, required in production.",
    )
    datasets: Path | None = Field(default_factory=_default_datasets)

    # Input limits: hostile input is refused before it is decoded.
    # An enrolment session left open longer than this is closed as expired (its captures kept).
    enrolment_session_ttl_h: float = Field(default=24.0, gt=0)
    max_body_bytes: int = 1 * 1024 * 1024
    max_upload_bytes: int = 15 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_import_rows: int = 100_000

    # Collection policy (the 100% target): a guard's fingerprints count as collected when
    # this many finger positions are on file; an approved capture exception counts as a
    # collected finger when ``collection_exceptions_count`` is true.
    collection_min_fingers: int = Field(default=2, ge=1, le=10)
    collection_exceptions_count: bool = True

    # Face quality gate (matching/face/params.py documents each against ISO/IEC 19794-5).
    face_min_inter_eye_px: float = 60.0
    face_min_sharpness: float = 80.0
    face_max_roll_deg: float = 8.0
    face_max_yaw_deg: float = 15.0
    # Face decisions: the threshold used, named by the false-match rate it was calibrated
    # for, and an optional calibration file written by `guardid eval face --save-thresholds`.
    face_decision_threshold: str = "face_fmr_1e-3"
    face_thresholds_file: str | None = None
    # Fingerprint thresholds written by `guardid eval finger --save-thresholds` (defaults:
    # matching/finger/params.py, calibrated on FVC2004 DB1 B).
    finger_thresholds_file: str | None = None
    # The true resolution of the site's fingerprint readers (ppi). Set it when the readers are
    # not 500 ppi: it overrides what an image file states (FVC TIFFs say 1 dpi, many tools 72
    # or 96); unset, a scanner-like stated value (250-1500) is trusted, else 500 is assumed.
    finger_reader_ppi: int | None = Field(default=None, ge=250, le=1500)
    # Enrollment de-duplication: a new face at or above this calibrated threshold against
    # another guard opens a review case (a person decides; nothing merges silently).
    enroll_duplicate_threshold: str = "face_fmr_1e-4"
    enroll_duplicate_finger_threshold: str = "finger_fmr_1e-4"
    # A fingerprint impression below this quality (0-100, matching/finger/engine.py) is
    # refused at the station with advice; the operator recaptures.
    finger_min_quality: float = Field(default=30.0, ge=0, le=100)
    # FAISS mode of the face gallery: exact (default), sq16 (half-precision scan + exact
    # re-rank, ~5x faster at 1M, same top-10 on 99.7% of queries) or hnsw (approximate).
    face_index_mode: Literal["exact", "sq16", "hnsw"] = "exact"
    # Candidate search of the finger gallery: flat (default; an exact Hamming scan of the
    # probe's position partition, linear in the gallery) or lsh (MinHash banding over the
    # codes: ~0.05% of the codes compared position known, sub-linear in time at city scale,
    # but ~6 KB more memory per finger; bench/finger_scale.py, BENCHMARKS.md).
    finger_index_mode: Literal["flat", "lsh"] = "flat"
    # Where the galleries' candidate search runs (biometrics/milvus/, issue 23): embedded
    # (the default: FAISS and the finger index in each server process, as above) or milvus
    # (a Milvus server or cluster at ``milvus_uri`` holds face vectors and finger codes; the
    # database stays the truth and one indexer applies its change feed to Milvus).
    gallery_backend: Literal["embedded", "milvus"] = "embedded"
    milvus_uri: str = "http://127.0.0.1:19530"
    # Collections are named ``<prefix>_faces`` and ``<prefix>_fingers`` (one deployment per
    # prefix: tests give each run its own).
    milvus_collection_prefix: str = Field(default="guardid", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # Whether this process runs the Milvus indexer thread; several may: a PostgreSQL
    # advisory lock lets one apply changes at a time (the others stand by).
    milvus_indexer: bool = True
    # Milvus indexes (biometrics/milvus/store.py IndexPlan). Exact by default (FLAT faces,
    # BIN_FLAT finger codes: the embedded galleries' answers, linear in the gallery). Past a
    # few million finger codes per query node use BIN_IVF_FLAT: each segment's codes in
    # ``milvus_finger_nlist`` inverted lists of which a search probes ``milvus_finger_nprobe``
    # (chosen on tuning probes in bench/milvus_gallery.py, BENCHMARKS.md); HNSW faces are
    # searched with beam ``milvus_face_ef``. Changing an index re-indexes on the next start.
    milvus_face_index: Literal["FLAT", "HNSW"] = "FLAT"
    milvus_face_ef: int = Field(default=128, ge=1, le=32_768)
    milvus_finger_index: Literal["BIN_FLAT", "BIN_IVF_FLAT"] = "BIN_FLAT"
    milvus_finger_nlist: int = Field(default=1024, ge=1, le=65_536)
    # nprobe: the bench's tuning chose 8 of 1,024 (the smallest tried; no mate lost on the
    # held-out probes at 100k fingers); the default doubles it as margin for larger galleries
    milvus_finger_nprobe: int = Field(default=16, ge=1, le=65_536)

    # Spot verification at duty posts: each modality's decision threshold, named by the
    # false-match rate it targets; with both modalities the fused evidence must reach the
    # same false-match rate (see inspection/fusion.py).
    verify_face_threshold: str = "face_fmr_1e-3"
    verify_finger_threshold: str = "finger_fmr_1e-3"
    identify_max_candidates: int = Field(default=5, ge=1, le=50)
    # 1:N compares a probe with every guard, so its per-comparison target is stricter.
    identify_threshold: str = "face_fmr_1e-4"

    # A font that prints Chinese, for PDF exports (archive, reports); found among the system
    # fonts (fonts-noto-cjk) when unset.
    pdf_font_file: Path | None = None

    # The clean-up campaign: cumulative tables count from this date; the weekly table is
    # frozen on this weekday (0 Monday .. 4 Friday, the plan's 周五).
    campaign_start: dt.date = dt.date(2026, 11, 1)
    campaign_freeze_weekday: int = Field(default=4, ge=0, le=6)
    # The reporting units' names printed on every report (填报单位) and the dashboard: JSON
    # {scope: name}, scope "*" for the city level or a district, e.g.
    # {"*": "天津市公安局", "蓟州区": "天津市公安局蓟州分局"}; a scope not named prints as
    # 全市 (the city) or the district's own name.
    report_units: dict[str, str] = Field(default_factory=dict)

    # Electronic guard certificate: how long a signed token stays valid, and who signs it.
    ecert_validity_days: int = Field(default=365, ge=1, le=3650)
    ecert_issuer: str = "guardid"

    # Processes that compute spot-check probes (face and fingerprint templates) for every
    # request thread; 0 computes them in the request's own process. `guardid serve` sets one
    # per core when this is unset (see api/compute.py for why).
    compute_processes: int = Field(default=0, ge=0, le=256)
    # Threads each server process lets BLAS, OpenMP (FAISS) and OpenCV use. Unset: the
    # libraries' default (one per core), which oversubscribes the cores when several
    # processes compute; `guardid serve` sets 1 with compute processes, else cores // workers.
    compute_threads: int | None = Field(default=None, ge=1, le=256)

    # Replicas (biometrics.replication.py). On PostgreSQL each server LISTENs for template
    # changes and catches its galleries up at once. /readyz says not ready while a gallery
    # lags beyond the bound: a change unapplied for longer than ``replica_lag_max_s``, or more
    # than ``replica_lag_max_changes`` unapplied changes. A change just committed elsewhere
    # is applied within milliseconds, so neither fires after an ordinary commit.
    replica_listen: bool = True
    replica_lag_max_s: float = Field(default=5.0, gt=0)
    replica_lag_max_changes: int = Field(default=1000, ge=1)

    # Gallery snapshots (biometrics/snapshots.py): each gallery is written, encrypted, to
    # ``snapshot_dir`` after a rebuild, every ``snapshot_interval_s`` when it changed, and at
    # clean shutdown (given up after ``snapshot_shutdown_s``); a start loads it and replays
    # only the changes after it. Unset (the default): no snapshots, every start replays the
    # whole change feed (so test servers never share snapshot files).
    snapshot_dir: Path | None = None
    snapshot_interval_s: float = Field(default=300.0, gt=0, le=86_400)
    snapshot_shutdown_s: float = Field(default=10.0, ge=0, le=600)
    # Processes that build the finger codes of a big start-up replay (biometrics/codes.py);
    # 1 (the default): in the server's own process. Measured on the shared 2-core host, 2 was
    # slower than 1 (BENCHMARKS.md, restart to ready), so more is opt-in.
    gallery_load_processes: int = Field(default=1, ge=1, le=256)

    # Audit trail (registry/audit.py): requests insert entries unsealed; a sealer thread in
    # each server process chains them every ``audit_seal_interval_s`` (the window in which a
    # committed entry has no chain position yet), and writes a signed checkpoint of the head
    # to ``audit_checkpoint_dir`` (default var/audit/checkpoints) every
    # ``audit_checkpoint_interval_s`` or after ``audit_checkpoint_every`` new entries,
    # whichever comes first (entries after the last checkpoint can be cut undetected).
    audit_seal_interval_s: float = Field(default=1.0, gt=0, le=60)
    audit_checkpoint_interval_s: float = Field(default=60.0, gt=0, le=86_400)
    audit_checkpoint_every: int = Field(default=1000, ge=1)
    audit_checkpoint_dir: Path | None = None

    # Brute-force throttle (registry/throttle.py): failed authentications allowed per API key
    # id and per client address within the window; at the limit the key id or address is
    # refused (429, Retry-After) for one window, even with a valid secret.
    auth_key_failure_limit: int = Field(default=10, ge=1, le=10_000)
    auth_address_failure_limit: int = Field(default=100, ge=1, le=1_000_000)
    auth_failure_window_s: int = Field(default=900, ge=1, le=86_400)
    # Reverse proxies (addresses or CIDR networks, comma-separated) whose X-Forwarded-For is
    # believed: a request from one of them is the client it names (the nearest address in
    # the header that is not itself a trusted proxy), for the throttle and the audit trail.
    # Empty (the default): the TCP peer is the client and the header is ignored, since anyone
    # can send it.
    trusted_proxies: str = ""

    log_level: str = "INFO"
    page_size_max: int = 500

    _default_database: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        if self.database_url is None:
            self._default_database = True
            self.database_url = f"sqlite:///{(self.var_dir / 'guardid.db').as_posix()}"
        if self.keyring_file is None:
            self.keyring_file = self.var_dir / "keyring.json"
        if self.audit_checkpoint_dir is None:
            self.audit_checkpoint_dir = self.var_dir / "audit" / "checkpoints"
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        for item in filter(None, (v.strip() for v in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"GUARDID_TRUSTED_PROXIES: {item!r} is not an address or "
                                 "network") from exc
        return value

    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Return the trusted reverse proxies as networks."""
        return tuple(ipaddress.ip_network(v.strip(), strict=False)
                     for v in self.trusted_proxies.split(",") if v.strip())

    @property
    def uses_default_database(self) -> bool:
        """True when no database URL was configured (the development SQLite file)."""
        return self._default_database

    def face_params(self):  # noqa: ANN201 (matching is imported lazily: no models at import)
        """Return the face engine parameters these settings select."""
        from dataclasses import replace

        from matching.face.params import FaceParams

        return replace(FaceParams(), min_inter_eye_px=self.face_min_inter_eye_px,
                       min_sharpness=self.face_min_sharpness,
                       max_roll_deg=self.face_max_roll_deg, max_yaw_deg=self.face_max_yaw_deg)

    def auth_throttle(self):  # noqa: ANN201 (registry.throttle imports the models)
        """Return the brute-force throttle policy these settings select."""
        from registry.throttle import Policy

        return Policy(key_limit=self.auth_key_failure_limit,
                      address_limit=self.auth_address_failure_limit,
                      window=dt.timedelta(seconds=self.auth_failure_window_s))

    @property
    def is_production(self) -> bool:
        """True when running in production mode."""
        return self.env == Environment.production


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
