"""The executor every operation runs with: subscription events shared across subscribers
(shared_events.py), and no "Did you mean ...?" hints in variable errors where the config hides them (they
map the schema that production keeps out of introspection)."""

from __future__ import annotations

from typing import Any

from graphql_api.shared_events import SharedEventExecutor


def _hide_suggestions(context: object) -> bool:
    security = getattr(context, "security", None)
    return security is not None and not security.config.suggestions


class AibtExecutor(SharedEventExecutor):
    @classmethod
    def build(cls, schema: Any, document: Any, root_value: Any = None, context_value: Any = None, *args, **kwargs):
        kwargs["hide_suggestions"] = _hide_suggestions(context_value)
        executor = super().build(schema, document, root_value, context_value, *args, **kwargs)
        if isinstance(executor, AibtExecutor) and hasattr(context_value, "event_executor"):
            context_value.event_executor = executor  # a live feed executes the subscription's events with it
        return executor
