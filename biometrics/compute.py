"""A pool of compute processes, one per core, that turns spot-check images into probes.

Why: dlib holds the GIL, so one process computes one face at a time, and with several
uvicorn workers each keeps the connections it accepted: measured with 8 clients on 2 workers,
the worker holding 5 connections answered in ~275 ms while the one holding 3 answered in
~166 ms. With one HTTP process handing every probe to whichever compute process is free, the
work is shared request by request, and the galleries are held (and rebuilt at start) once.
Image bytes go to the worker and a small template comes back; errors cross as themselves.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from biometrics.probes import LocalProbes, Probe
from matching.exceptions import ImageError

log = logging.getLogger("guardid.compute")

# Each warm-up task waits this long so that every process is started and loads its models.
WARM_UP_HOLD_S = 0.5


_PROBES: LocalProbes | None = None  # this compute process's engines


def limit_compute_threads(threads: int | None) -> None:
    """Cap the threads of BLAS, OpenMP (FAISS) and OpenCV in this process (None: leave them).

    Called after the models and indexes are loaded, so every library is there to be capped.
    BLAS and OpenCV take it process-wide; OpenMP only for the calling thread, which is why
    `guardid serve` also sets OMP_NUM_THREADS before anything loads (serve_environment).
    """
    if threads is None:
        return
    import cv2
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    cv2.setNumThreads(threads)


def _init(face_params: Any) -> None:
    """Build this process's engines and cap its numeric libraries at one thread."""
    global _PROBES
    from matching.face import FaceEngine
    from matching.finger import FingerprintEngine

    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    face = FaceEngine(face_params)
    face.warm_up()
    _PROBES = LocalProbes(face, FingerprintEngine())
    limit_compute_threads(1)  # the thread that runs every task: the OpenMP cap reaches it


def _exit_with(parent: Any) -> None:
    """End this process when the server that started it dies, even by SIGKILL."""
    parent.join()
    os._exit(0)


def _face(image: bytes, limits: dict[str, int]) -> Probe:
    """Run a face probe in a compute process."""
    assert _PROBES is not None
    return _PROBES.face_probe(image, **limits)


def _finger(image: bytes, position: int | None, limits: dict[str, int | None]) -> Probe:
    """Run a fingerprint probe in a compute process."""
    assert _PROBES is not None
    return _PROBES.finger_probe(image, position=position, **limits)


def _hold() -> None:
    """Keep a compute process busy for a moment (so warm-up reaches every process)."""
    time.sleep(WARM_UP_HOLD_S)


class ComputePool:
    """Worker processes computing face and finger probes for every request thread."""

    def __init__(self, processes: int, face_params: Any):
        self.processes, self._face_params = processes, face_params
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        """Return a new executor of ``processes`` spawned processes."""
        return ProcessPoolExecutor(self.processes,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init, initargs=(self._face_params,))

    def run(self, fn: Any, *args: Any) -> Any:
        """Return ``fn(*args)`` computed in a free process.

        A process that dies (a native crash on a hostile image, the kernel's OOM killer)
        breaks the whole executor; it is replaced, so the service stays up, and the input is
        tried once more before it is refused as unprocessable.
        """
        for attempt in range(2):
            pool = self._pool
            try:
                return pool.submit(fn, *args).result()
            except BrokenProcessPool:
                log.error("a compute process died; starting a new pool (attempt %d)", attempt + 1)
                with self._lock:
                    if self._pool is pool:
                        self._pool = self._start()
                        pool.shutdown(wait=False, cancel_futures=True)
        raise ImageError("the image could not be processed: it stopped the process reading it",
                         code="image_unprocessable")

    def face_probe(self, image: bytes, *, max_bytes: int, max_pixels: int) -> Probe:
        """Return the face probe of a photo, computed in a free process."""
        return self.run(_face, image, {"max_bytes": max_bytes, "max_pixels": max_pixels})

    def finger_probe(self, image: bytes, *, position: int | None, max_bytes: int,
                     max_pixels: int, ppi: int | None = None) -> Probe:
        """Return the fingerprint probe of an impression, computed in a free process."""
        return self.run(_finger, image, position,
                        {"max_bytes": max_bytes, "max_pixels": max_pixels, "ppi": ppi})

    def warm_up(self) -> None:
        """Start every process and load its models before traffic arrives."""
        for f in [self._pool.submit(_hold) for _ in range(self.processes)]:
            f.result()

    def close(self) -> None:
        """Stop the processes."""
        self._pool.shutdown(wait=True, cancel_futures=True)
