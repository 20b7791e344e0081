"""The composition root: what a process builds once (settings, database, keyring, engines,
galleries, the compute pool) for the API, the CLI and the benchmarks alike.

Engines, galleries and the pool are built on first use, so a CLI command that only touches
the database never loads FAISS or dlib; their modules are imported then too (the names below
are real types for readers and type checkers, imported for annotations only).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from ipaddress import IPv4Network, IPv6Network
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from registry import audit
from registry.audit_trail import AuditTrail
from registry.crypto import Keyring, Vault
from registry.db import make_engine, make_session_factory
from registry.exceptions import ConfigurationError
from registry.files import private_dir
from registry.settings import Settings
from registry.throttle import Policy
from reporting import spans

if TYPE_CHECKING:
    from biometrics.compute import ComputePool
    from biometrics.gallery import FaceGallery, FingerGallery
    from biometrics.loader import GalleryLoader
    from biometrics.milvus.indexer import Indexer, Lag
    from biometrics.milvus.store import MilvusStore
    from biometrics.replication import Listener, ReplicaStatus
    from enrollment.dedup import Galleries
    from inspection.service import Matchers
    from matching.face import FaceEngine
    from matching.face.params import FaceParams
    from matching.finger import FingerprintEngine

# Read models kept in step with the records they derive from, on every session a factory
# makes: installed here, explicitly, so the registry depends on no domain above it.
SESSION_HOOKS: tuple[Callable[[sessionmaker[Session]], None], ...] = (spans.install,)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory services use, with every session hook installed."""
    return make_session_factory(engine, hooks=SESSION_HOOKS)


@dataclass
class Runtime:
    """Long-lived objects shared by every request or command (built once per process)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    vault: Vault
    listener: Listener | None = None  # keeps the galleries in step while the app serves
    loader: GalleryLoader | None = None  # loads the galleries, then writes their snapshots
    indexer: Indexer | None = None  # applies the feed to Milvus (gallery_backend=milvus)
    # set by the listener on each NOTIFY of the feed: the indexer applies at once, not at
    # its next poll
    indexer_wake: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        # Every session carries the audit chain key: `audit.record` authenticates its entries.
        self.sessions.configure(info={audit.SESSION_KEY_INFO: self.vault.keyring.audit_key})

    @cached_property
    def proxies(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The reverse proxies whose X-Forwarded-For names the client (settings)."""
        return self.settings.proxy_networks()

    @cached_property
    def throttle(self) -> Policy:
        """The brute-force throttle policy of authentication (settings)."""
        return self.settings.auth_throttle()

    @cached_property
    def audit_trail(self) -> AuditTrail:
        """Sealing, checkpoints and verification of the audit chain (keys from the keyring)."""
        return AuditTrail.build(self.settings, self.sessions, self.vault.keyring)

    @cached_property
    def face_engine(self) -> FaceEngine:
        """The face engine (models load on first use; one per parameter set per process)."""
        return _face_engine(self.settings.face_params())

    @cached_property
    def face_gallery(self) -> FaceGallery:
        """The face gallery; it catches up from the database before every search."""
        if self.uses_milvus:
            from biometrics.milvus.gallery import MilvusFaceGallery

            return MilvusFaceGallery(self.milvus_store)
        from biometrics.gallery import FaceGallery

        return FaceGallery(mode=self.settings.face_index_mode)

    @property
    def uses_milvus(self) -> bool:
        """Whether the galleries' candidate search runs on Milvus (settings)."""
        return self.settings.gallery_backend == "milvus"

    @cached_property
    def milvus_store(self) -> MilvusStore:
        """The Milvus collections of this deployment (connects on first use)."""
        from biometrics.milvus.store import IndexPlan, MilvusStore

        st = self.settings
        plan = IndexPlan(face=st.milvus_face_index, face_ef=st.milvus_face_ef,
                         finger=st.milvus_finger_index, finger_nlist=st.milvus_finger_nlist,
                         finger_nprobe=st.milvus_finger_nprobe)
        return MilvusStore(st.milvus_uri, st.milvus_collection_prefix, plan)

    def new_indexer(self) -> Indexer:
        """Return an indexer that applies the change feed to Milvus (not started)."""
        from biometrics.milvus.indexer import Indexer

        return Indexer(self.engine, self.vault, self.milvus_store, self.finger_engine)

    def indexer_lag(self) -> list[Lag]:
        """Return what the Milvus indexer has not applied, per modality ([] when embedded)."""
        if not self.uses_milvus:
            return []
        from biometrics.milvus.indexer import lag
        from biometrics.models import Modality

        with self.sessions() as session:
            return [lag(session, m) for m in Modality]

    @cached_property
    def face_thresholds(self) -> dict[str, float]:
        """Face similarity thresholds by name (see matching/face/params.py)."""
        from matching.face.params import load_thresholds

        return load_thresholds(self.settings.face_thresholds_file)

    @cached_property
    def duplicate_threshold(self) -> float:
        """The similarity above which a commit opens a review case instead of enrolling."""
        return self.face_thresholds[self.settings.enroll_duplicate_threshold]

    @cached_property
    def galleries(self) -> Galleries:
        """Both galleries with the thresholds at which a commit opens a review case."""
        from enrollment.dedup import Galleries

        return Galleries(face=self.face_gallery, finger=self.finger_gallery,
                         face_threshold=self.duplicate_threshold,
                         finger_threshold=self.finger_thresholds[
                             self.settings.enroll_duplicate_finger_threshold],
                         min_fingers=self.settings.collection_min_fingers)

    @cached_property
    def matchers(self) -> Matchers:
        """Engines, galleries and calibrated thresholds for spot checks."""
        from inspection.service import Matchers

        return Matchers(face_engine=self.face_engine, face_thresholds=self.face_thresholds,
                        finger_engine=self.finger_engine,
                        finger_thresholds=self.finger_thresholds,
                        face_gallery=self.face_gallery, finger_gallery=self.finger_gallery,
                        pool=self.compute_pool)

    @cached_property
    def compute_pool(self) -> ComputePool | None:
        """Processes computing spot-check probes (None: in the request's own process)."""
        if not self.settings.compute_processes:
            return None
        from biometrics.compute import ComputePool

        return ComputePool(self.settings.compute_processes, self.settings.face_params())

    @cached_property
    def finger_engine(self) -> FingerprintEngine:
        """The fingerprint engine (stateless; nothing to load)."""
        from matching.finger import FingerprintEngine

        return FingerprintEngine()

    @cached_property
    def finger_gallery(self) -> FingerGallery:
        """Every enrolled finger, searchable 1:N; catches up from the database."""
        if self.uses_milvus:
            from biometrics.milvus.gallery import MilvusFingerGallery, db_templates

            return MilvusFingerGallery(self.milvus_store, db_templates(self.sessions, self.vault),
                                       self.finger_engine)
        from biometrics.gallery import FingerGallery

        return FingerGallery(self.finger_engine, mode=self.settings.finger_index_mode)

    @cached_property
    def finger_thresholds(self) -> dict[str, float]:
        """Fingerprint score thresholds by name (see matching/finger/params.py)."""
        from matching.finger.params import load_thresholds

        return load_thresholds(self.settings.finger_thresholds_file)

    def warm_up(self) -> None:
        """Load the face models and replay the gallery before the first request needs them."""
        self._warm_up_compute()
        with self.sessions() as session:
            self.face_gallery.catch_up(session, self.vault)
            self.finger_gallery.catch_up(session, self.vault)

    def start_loading(self) -> None:
        """Load the models and the galleries in the background (snapshot, then the tail);
        until then a search answers GalleryLoading (503) and everything else works."""
        from biometrics.loader import GalleryLoader

        if self.loader is not None:
            return
        # Built here, in the caller's thread, so no request races the loader to build them.
        galleries = (self.face_gallery, self.finger_gallery)
        self.face_engine, self.compute_pool  # noqa: B018 - build them now, not in a race
        s = self.settings
        if s.milvus_indexer:
            self.start_indexer()
        self.loader = GalleryLoader(engine=self.engine, sessions=self.sessions,
                                    vault=self.vault, galleries=galleries,
                                    # Milvus persists its own segments: nothing to snapshot
                                    snapshot_dir=None if self.uses_milvus else s.snapshot_dir,
                                    interval_s=s.snapshot_interval_s,
                                    shutdown_s=s.snapshot_shutdown_s,
                                    code_processes=s.gallery_load_processes,
                                    warm_up=self._warm_up_compute).start()

    def _warm_up_compute(self) -> None:
        """Load the face models and start the compute processes (the loader's first step)."""
        from biometrics.compute import limit_compute_threads

        self.face_engine.warm_up()
        if self.compute_pool is not None:
            self.compute_pool.warm_up()
        limit_compute_threads(self.settings.compute_threads)

    def loading_status(self) -> dict | None:
        """Return the start-up load's progress, or None when the galleries are loaded."""
        return self.loader.status() if self.loader is not None else None

    def stop_loading(self) -> None:
        """Stop the loader (final snapshots within snapshot_shutdown_s) and join its thread."""
        if self.loader is not None:
            self.loader.stop()
            self.loader = None
        self.stop_indexer()

    def start_indexer(self) -> None:
        """Start the Milvus indexer thread (gallery_backend=milvus; once)."""
        if self.uses_milvus and self.indexer is None:
            self.indexer = self.new_indexer().start(self.indexer_wake)

    def stop_indexer(self) -> None:
        """Stop the Milvus indexer thread, if one runs."""
        if self.indexer is not None:
            self.indexer.stop()
            self.indexer = None

    def replica_status(self) -> ReplicaStatus:
        """How far each gallery lags behind the change feed, and whether that is too far."""
        from biometrics import replication

        with self.sessions() as session:
            return replication.status(session, (self.face_gallery, self.finger_gallery),
                                      max_lag_s=self.settings.replica_lag_max_s,
                                      max_changes=self.settings.replica_lag_max_changes)

    def start_listener(self) -> None:
        """Keep the galleries in step with other replicas' writes (PostgreSQL LISTEN)."""
        from biometrics.replication import listener_for

        if self.settings.replica_listen and self.listener is None:
            self.listener = listener_for(
                self.engine, self.sessions, self.vault, (self.face_gallery, self.finger_gallery),
                on_change=self.indexer_wake.set if self.uses_milvus else None)

    def close(self) -> None:
        """Stop the loader and the listener, the compute processes, then the database pool."""
        self.stop_loading()
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        if "compute_pool" in self.__dict__ and self.compute_pool is not None:
            self.compute_pool.close()
        self.engine.dispose()


@lru_cache(maxsize=4)
def _face_engine(params: FaceParams) -> FaceEngine:
    """Return the process's face engine for ``params`` (built, not loaded: loading is lazy)."""
    from matching.face import FaceEngine

    return FaceEngine(params)


def build_runtime(settings: Settings) -> Runtime:
    """Open the database and the keyring; refuse unsafe configuration in production."""
    if settings.is_production and settings.uses_default_database:
        raise ConfigurationError("production needs an explicit GUARDID_DATABASE_URL")
    private_dir(settings.var_dir)
    keyring = Keyring.open(settings.keyring_file, create=not settings.is_production)
    engine = make_engine(settings.database_url)
    return Runtime(settings=settings, engine=engine, sessions=session_factory(engine),
                   vault=Vault(keyring))
