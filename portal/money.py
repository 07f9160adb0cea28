"""Column type for money: exact decimals, never float."""

from __future__ import annotations

from sqlalchemy import Numeric

# Major units with room for 3-decimal currencies (KWD); amounts are quantised to the
# currency's minor unit before they are stored (portal.commissions.engine.round_money).
Money = Numeric(18, 4)
