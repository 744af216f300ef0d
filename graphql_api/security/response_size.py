"""The largest response the API sends: a bigger one is replaced by a coded error, never sent.

The cost limit (query_cost.py) keeps most responses small before they run; this catches what an estimate
cannot see, such as long reasoning logs or equity curves longer than estimated.
"""

from __future__ import annotations

from typing import Any

from graphql_api.request_ids import current_request_id


def oversized_response_error(limit: int) -> dict[str, Any]:
    return {
        "message": f"The response would be larger than {limit:,} bytes; ask for less (smaller pages, fewer fields "
        "or aliases, narrower ranges).",
        "extensions": {"code": "QUERY_TOO_COMPLEX", "requestId": current_request_id.get(), "maxResponseBytes": limit},
    }
