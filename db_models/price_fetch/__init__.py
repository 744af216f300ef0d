"""Fetching prices, splits and dividends from Alpha Vantage into the price tables, a symbol at a time.

client.py speaks the HTTP API (pacing, throttle notes, errors), responses.py turns its bodies into bars
and actions, sessions.py knows the exchange's trading days, planner.py decides what is missing, runner.py
fetches and writes each symbol in one transaction, universes.py holds named symbol lists.
"""
