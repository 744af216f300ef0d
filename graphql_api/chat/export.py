"""A conversation as Markdown or JSON, for keeping or sharing."""

from __future__ import annotations

import json

from db_models.chat import ChatMessage, Conversation

ROLE_NAMES = {"USER": "You", "ASSISTANT": "Analyst", "SYSTEM": "System"}


async def export_conversation(conversation: Conversation, export_format: str) -> str:
    messages = await ChatMessage.filter(conversation_id=conversation.id).order_by("id")
    if export_format == "JSON":
        return json.dumps(
            {
                "title": conversation.title,
                "summary": conversation.summary,
                "createdAt": conversation.created_at.isoformat(),
                "messages": [
                    {
                        "role": str(m.role),
                        "content": m.content,
                        "toolCalls": m.tool_calls,
                        "cutShort": m.cut_short,
                        "createdAt": m.created_at.isoformat(),
                    }
                    for m in messages
                ],
            },
            indent=2,
            ensure_ascii=False,
        )
    lines = [f"# {conversation.title}", ""]
    for message in messages:
        when = message.created_at.strftime("%Y-%m-%d %H:%M UTC")
        lines += [f"**{ROLE_NAMES[str(message.role)]}** ({when})", "", message.content]
        if message.cut_short:
            lines += ["", "_(reply cut short)_"]
        for call in message.tool_calls or []:
            lines += ["", f"> tool `{call.get('name')}` {json.dumps(call.get('input'), ensure_ascii=False)}"]
        lines.append("")
    return "\n".join(lines)
