"""The replica's galleries in Prometheus text format: sizes, applied and head seq, lag.

Counts and sequence numbers only: no guard, district or template appears in a label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from bootstrap import Runtime


def replica_metrics(runtime: Runtime) -> bytes:
    """Return the gallery gauges of this process, read now, in the exposition format."""
    status = runtime.replica_status()
    listener = runtime.listener
    registry = CollectorRegistry()
    by_modality = ["modality"]
    gauges = {
        "size": Gauge("guardid_gallery_size", "Templates searchable in the gallery",
                      by_modality, registry=registry),
        "applied": Gauge("guardid_gallery_applied_seq", "Highest change seq the gallery applied",
                         by_modality, registry=registry),
        "pending": Gauge("guardid_gallery_lag_changes",
                         "Committed changes the gallery has not applied", by_modality,
                         registry=registry),
        "lag": Gauge("guardid_gallery_lag_seconds",
                     "Age of the oldest change the gallery has not applied", by_modality,
                     registry=registry),
    }
    for lag in status.galleries:
        gauges["size"].labels(lag.modality).set(lag.size)
        gauges["applied"].labels(lag.modality).set(lag.applied_seq)
        gauges["pending"].labels(lag.modality).set(lag.pending)
        gauges["lag"].labels(lag.modality).set(lag.lag_s)
    Gauge("guardid_feed_head_seq", "Highest committed change seq in the feed",
          registry=registry).set(status.head_seq)
    Gauge("guardid_replica_ready", "1 while the galleries are within the lag bound",
          registry=registry).set(1 if status.ready else 0)
    Gauge("guardid_replica_notify_catchups", "Catch-ups a change notification triggered",
          registry=registry).set(listener.catch_ups if listener else 0)
    Gauge("guardid_replica_listener_reconnects", "Times the change listener reconnected",
          registry=registry).set(listener.reconnects if listener else 0)
    if runtime.uses_milvus:
        changes = Gauge("guardid_milvus_indexer_lag_changes",
                        "Committed changes the Milvus indexer has not applied", by_modality,
                        registry=registry)
        seconds = Gauge("guardid_milvus_indexer_lag_seconds",
                        "Age of the oldest change the Milvus indexer has not applied",
                        by_modality, registry=registry)
        for lag in runtime.indexer_lag():
            changes.labels(lag.modality).set(lag.changes)
            seconds.labels(lag.modality).set(lag.oldest_s)
        Gauge("guardid_milvus_indexer_active", "1 while this process is the active indexer",
              registry=registry).set(1 if runtime.indexer and runtime.indexer.active else 0)
    return generate_latest(registry)
