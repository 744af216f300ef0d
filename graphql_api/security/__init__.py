"""Defences against hostile clients: query limits, request guards, rate limits and websocket rules."""
