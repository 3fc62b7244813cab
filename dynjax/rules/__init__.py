"""Online gradient rules for recurrent cells: RFLO (approximate, local) and exact RTRL."""

from dynjax.rules.base import OnlineRule
from dynjax.rules.rflo import RFLOTrace, rflo
from dynjax.rules.rtrl import RTRLTrace, rtrl

RULES = {"rflo": rflo, "rtrl": rtrl}

__all__ = ["OnlineRule", "RFLOTrace", "RTRLTrace", "rflo", "rtrl", "RULES"]
