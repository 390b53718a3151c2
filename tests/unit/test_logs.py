"""EXPO_LOG_FORMAT=json: one JSON object per line, with the ids a record carries."""

import io
import json
import logging

from shared.logs import JsonFormatter


def test_a_json_log_line_carries_time_level_logger_message_and_ids() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("expo.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(
            "session %s: folded %d", "s1", 3, extra={"session_id": "s1", "entry_id": "1-0"}
        )
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("fold failed")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "WARNING"
    assert first["logger"] == "expo.test.json"
    assert first["message"] == "session s1: folded 3"
    assert (first["session_id"], first["entry_id"]) == ("s1", "1-0")
    assert "event_id" not in first
    assert first["time"].endswith("+00:00")
    assert second["message"] == "fold failed"
    assert "ValueError: boom" in second["exception"]
