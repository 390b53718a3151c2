"""Log records as one JSON object per line (`EXPO_LOG_FORMAT=json`), for log collectors.

Each line has the time (UTC, RFC 3339), level, logger and message, and the ids a record
carries in `extra`: `session_id`, `event_id`, `entry_id`. Attendee ids and token secrets
are never put there (nor in messages).
"""

import json
import logging
from datetime import UTC, datetime

IDS = ("session_id", "event_id", "entry_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in IDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)
