"""The MCP tool servers the agents trade through (math, search, price, trade) and their launcher."""
