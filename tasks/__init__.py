"""The Dramatiq broker set-up, the actors that run backtests, intraday sessions and chat replies, and events."""
