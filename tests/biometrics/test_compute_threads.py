"""Server worker processes cap their numeric libraries' threads (GUARDID_COMPUTE_THREADS)."""

from __future__ import annotations

import cv2
import faiss  # noqa: F401  (its OpenMP runtime is one of the pools capped)
import numpy as np  # noqa: F401  (its OpenBLAS is another)
from threadpoolctl import threadpool_info, threadpool_limits

from biometrics.compute import limit_compute_threads


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


def test_serve_defaults_and_explicit_settings():
    from cli.registry_cmds import serve_environment

    env: dict[str, str] = {}
    serve_environment(env, workers=1, cores=4)
    assert env == {"GUARDID_COMPUTE_PROCESSES": "4", "GUARDID_COMPUTE_THREADS": "1",
                   "OMP_NUM_THREADS": "1"}
    env = {"GUARDID_COMPUTE_PROCESSES": "0"}
    serve_environment(env, workers=2, cores=4)
    assert env["GUARDID_COMPUTE_THREADS"] == "2" == env["OMP_NUM_THREADS"]
    env = {"OMP_NUM_THREADS": "3", "GUARDID_COMPUTE_PROCESSES": "2"}
    serve_environment(env, workers=1, cores=2)
    assert env["OMP_NUM_THREADS"] == "3"  # an operator's own setting wins


def test_request_threads_of_a_served_process_get_one_openmp_thread():
    """The server's request threads, not only the thread that started it, are capped."""
    import os
    import subprocess
    import sys

    from cli.registry_cmds import serve_environment

    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "GUARDID_COMPUTE_THREADS",
                        "GUARDID_COMPUTE_PROCESSES")}
    serve_environment(env, workers=1, cores=2)
    probe = ("import threading, faiss\n"
             "out = []\n"
             "t = threading.Thread(target=lambda: out.append(faiss.omp_get_max_threads()))\n"
             "t.start(); t.join(); print(out[0])\n")
    got = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert got == "1"
