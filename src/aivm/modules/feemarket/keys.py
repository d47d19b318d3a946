"""feemarket store layout (under the module prefix ``feemarket/``).

- ``0x01 → Params`` (``aivm.feemarket.v1.Params``)
- ``0x02 → State`` (``aivm.feemarket.v1.State``: the base gas price, the last block's gas)
"""

STORE_PREFIX = b"feemarket/"
PARAMS = b"\x01"
STATE = b"\x02"
MODULE_ACCOUNT = "feemarket"
"""Module account (burner) that receives the base part of fees when ``burn_base_fee`` is on;
EndBlock burns its balance."""
