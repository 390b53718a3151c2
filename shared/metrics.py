"""Prometheus metrics of the event path. Each service is its own process and exposes the
ones it moves at `/metrics`."""

from prometheus_client import Counter, Gauge, Histogram

INGESTED = Counter(
    "expo_ingest_events_total", "Events received by ingest, by type and result", ["type", "result"]
)
REJECTED_SCANS = Counter(
    "expo_rejected_scans_total", "Check-ins refused for their session, kept", ["reason"]
)
FOLDED = Counter("expo_aggregator_events_folded_total", "Events folded into SQL", ["type"])
DUPLICATES = Counter(
    "expo_aggregator_duplicates_total", "Stream entries whose event_id was already stored"
)
CONFLICTS = Counter(
    "expo_deal_conflicts_total", "Later signings of a deal whose content differs from the first"
)
DEAD_LETTERS = Counter(
    "expo_dead_lettered_entries_total", "Stream entries moved to a dead-letter stream", ["reason"]
)
DEAD_LETTERS_WAITING = Gauge(
    "expo_dead_letters", "Entries in the dead-letter streams, waiting for an operator"
)
FOLD_SECONDS = Histogram(
    "expo_fold_batch_duration_seconds",
    "Time to fold one batch in one SQL transaction",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PENDING = Gauge(
    "expo_stream_pending_entries", "Entries delivered to the aggregator and not yet acked"
)
LAG = Gauge("expo_stream_lag_entries", "Entries in the streams not yet delivered to the group")
LAG_SECONDS = Gauge(
    "expo_aggregator_lag_seconds",
    "Age of the newest folded event when it was folded; 0 once a read finds nothing new",
)

HTTP_SECONDS = Histogram(
    "expo_http_request_duration_seconds",
    "HTTP requests by route template, method and status",
    ["route", "method", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
