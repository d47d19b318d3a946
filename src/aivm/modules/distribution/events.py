"""distribution event types and attribute keys (Cosmos SDK ``x/distribution/types/events.go``)."""

TYPE_SET_WITHDRAW_ADDRESS = "set_withdraw_address"
TYPE_REWARDS = "rewards"
TYPE_COMMISSION = "commission"
TYPE_WITHDRAW_REWARDS = "withdraw_rewards"
TYPE_WITHDRAW_COMMISSION = "withdraw_commission"

ATTR_AMOUNT = "amount"
ATTR_VALIDATOR = "validator"
ATTR_DELEGATOR = "delegator"
ATTR_WITHDRAW_ADDRESS = "withdraw_address"
