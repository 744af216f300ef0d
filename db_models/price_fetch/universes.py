"""Named lists of symbols for `aibt data fetch --universe NAME`, each with the date it was taken.

Index memberships change (a few NASDAQ-100 replacements a year and the December reconstitution): these
lists are kept current by hand, and the date says how old a list is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Universe:
    name: str
    description: str
    taken: dt.date
    symbols: tuple[str, ...]


# Symbols are facts: compare with the index provider's list when updating it, and move `taken`.
_NASDAQ100 = """
AAPL ABNB ADBE ADI ADP ADSK AEP AMAT AMD AMGN AMZN APP ARM ASML AVGO AXON AZN BIIB BKNG BKR CCEP
CDNS CDW CEG CHTR CMCSA COST CPRT CRWD CSCO CSGP CSX CTAS CTSH DASH DDOG DXCM EA EXC FANG FAST FTNT
GEHC GFS GILD GOOG GOOGL HON IDXX INTC INTU ISRG KDP KHC KLAC LIN LRCX LULU MAR MCHP MDLZ MELI META
MNST MRVL MSFT MSTR MU NFLX NVDA NXPI ODFL ON ORLY PANW PAYX PCAR PDD PEP PLTR PYPL QCOM REGN ROP
ROST SBUX SHOP SNPS TEAM TMUS TRI TSLA TTD TTWO TXN VRSK VRTX WBD WDAY XEL ZS
"""

NASDAQ100 = Universe(
    name="nasdaq100",
    description="the NASDAQ-100 index's constituents (101 securities: Alphabet's GOOG and GOOGL both)",
    taken=dt.date(2025, 10, 30),
    symbols=tuple(_NASDAQ100.split()),
)

UNIVERSES = {universe.name: universe for universe in (NASDAQ100,)}


def get_universe(name: str) -> Universe:
    """The universe of that name; ValueError naming the known ones otherwise."""
    key = name.strip().lower()
    if key not in UNIVERSES:
        raise ValueError(f"unknown universe {name!r}; known: {', '.join(sorted(UNIVERSES))}")
    return UNIVERSES[key]
