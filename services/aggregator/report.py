"""What a committed batch tells the metrics and the log: events folded, duplicates skipped,
how far behind the fold is, and deal conflicts (each a warning naming both events)."""

import logging
import time

from services.aggregator.batch import FoldedBatch
from shared import metrics

logger = logging.getLogger(__name__)


def folded(session_id: str, entries: int, batch: FoldedBatch) -> None:
    metrics.DUPLICATES.inc(batch.duplicates)
    for event, _ in batch.new:
        metrics.FOLDED.labels(event.type).inc()
    if batch.new:
        newest = max(event.recorded_at for event, _ in batch.new)
        metrics.LAG_SECONDS.set(max(0.0, time.time() - newest.timestamp()))
    for conflict in batch.conflicts:
        metrics.CONFLICTS.inc()
        logger.warning(
            "deal conflict in session %s: deal %s counted from event %s, event %s differs",
            conflict.session_id,
            conflict.deal_id,
            conflict.counted_event_id,
            conflict.ignored_event_id,
            extra={"session_id": conflict.session_id, "event_id": conflict.ignored_event_id},
        )
    logger.debug(
        "session %s: folded %d new of %d entries",
        session_id,
        len(batch.new),
        entries,
        extra={"session_id": session_id},
    )
