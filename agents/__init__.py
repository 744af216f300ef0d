"""LangGraph graphs (trading day, chat reply), prompts, the LLM factory and the local deterministic models."""
