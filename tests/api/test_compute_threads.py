"""Server worker processes cap their numeric libraries' threads (GUARDID_COMPUTE_THREADS)."""

from __future__ import annotations

import cv2
import faiss  # noqa: F401  (its OpenMP runtime is one of the pools capped)
import numpy as np  # noqa: F401  (its OpenBLAS is another)
from threadpoolctl import threadpool_info, threadpool_limits

from api.runtime import limit_compute_threads


def test_cap_reaches_blas_openmp_and_opencv():
    saved = threadpool_limits(limits=None)  # remembers the pools' current sizes
    cv2_before = cv2.getNumThreads()
    try:
        limit_compute_threads(1)
        pools = threadpool_info()
        assert {p["user_api"] for p in pools} >= {"blas", "openmp"}
        assert all(p["num_threads"] == 1 for p in pools)
        assert cv2.getNumThreads() == 1
    finally:
        saved.restore_original_limits()
        cv2.setNumThreads(cv2_before)


def test_unset_leaves_the_libraries_alone():
    before = [(p["filepath"], p["num_threads"]) for p in threadpool_info()]
    limit_compute_threads(None)
    assert [(p["filepath"], p["num_threads"]) for p in threadpool_info()] == before
