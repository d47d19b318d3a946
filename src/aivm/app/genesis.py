"""The genesis document: CometBFT's genesis.json with AIVM's ``app_state`` inside.

```json
{
  "genesis_time": "2026-11-24T00:00:00Z",
  "chain_id": "aivm-devnet-1",
  "initial_height": "1",
  "consensus_params": {"block": {"max_bytes": "22020096", "max_gas": "500000000"}, ...},
  "validators": [{"address": "…", "pub_key": {"type": "tendermint/PubKeyEd25519", "value": "…"},
                  "power": "10", "name": "validator-0"}],
  "app_hash": "",
  "app_state": {"auth": {...}, "bank": {...}}
}
```

CometBFT reads everything but ``app_state``, which it hands to the app in InitChain as raw
bytes. This module converts between the JSON document and a ``RequestInitChain``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aivm.types import pb
from aivm.types.errors import ErrInvalidRequest

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)


@dataclass(frozen=True)
class GenesisValidator:
    """A validator of the initial set."""

    pub_key: bytes
    """32-byte ed25519 consensus key."""
    power: int
    """Voting power."""
    name: str = ""
    """Moniker, informational."""

    @property
    def address(self) -> str:
        """CometBFT validator address: upper-hex of sha256(pub_key)[:20]."""
        return hashlib.sha256(self.pub_key).digest()[:20].hex().upper()

    def to_json(self) -> dict[str, Any]:
        """CometBFT genesis JSON form."""
        return {
            "address": self.address,
            "pub_key": {
                "type": "tendermint/PubKeyEd25519",
                "value": base64.b64encode(self.pub_key).decode(),
            },
            "power": str(self.power),
            "name": self.name,
        }

    def to_update(self) -> pb.abci.ValidatorUpdate:
        """ABCI ValidatorUpdate form."""
        return pb.abci.ValidatorUpdate(
            pub_key=pb.tm_crypto.PublicKey(ed25519=self.pub_key), power=self.power
        )


DEFAULT_BLOCK_MAX_GAS = 500_000_000
"""Gas one block may use: with gas calibrated to CPU time (ADR 0010: ≈2.6 ns per gas unit on
the 2-core development VM), a bound on the time a block takes to execute, ≈1.3 s. CometBFT's
default (-1, unlimited) is refused at InitChain."""


def default_consensus_params() -> dict[str, Any]:
    """CometBFT 0.38 defaults with a finite block gas limit, and vote extensions off."""
    return {
        "block": {"max_bytes": "22020096", "max_gas": str(DEFAULT_BLOCK_MAX_GAS)},
        "evidence": {
            "max_age_num_blocks": "100000",
            "max_age_duration": "172800000000000",
            "max_bytes": "1048576",
        },
        "validator": {"pub_key_types": ["ed25519"]},
        "version": {"app": "1"},
        "abci": {"vote_extensions_enable_height": "0"},
    }


@dataclass
class GenesisDoc:
    """A parsed genesis.json."""

    chain_id: str
    app_state: dict[str, Any]
    genesis_time: str = "2026-01-01T00:00:00Z"
    initial_height: int = 1
    consensus_params: dict[str, Any] = field(default_factory=default_consensus_params)
    validators: list[GenesisValidator] = field(default_factory=list)
    app_hash: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GenesisDoc:
        """Parse the JSON document; raises ErrInvalidRequest naming the bad field."""
        try:
            validators = [
                GenesisValidator(
                    pub_key=base64.b64decode(v["pub_key"]["value"], validate=True),
                    power=int(v["power"]),
                    name=v.get("name", ""),
                )
                for v in data.get("validators") or []
            ]
            doc = cls(
                chain_id=str(data["chain_id"]),
                app_state=dict(data.get("app_state") or {}),
                genesis_time=str(data.get("genesis_time", "2026-01-01T00:00:00Z")),
                initial_height=int(data.get("initial_height", 1)),
                consensus_params=data.get("consensus_params") or default_consensus_params(),
                validators=validators,
                app_hash=str(data.get("app_hash", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ErrInvalidRequest.wrap(f"invalid genesis document: {exc!r}") from exc
        if not doc.chain_id:
            raise ErrInvalidRequest.wrap("genesis chain_id is empty")
        parse_time(doc.genesis_time)
        return doc

    def to_json(self) -> dict[str, Any]:
        """The CometBFT-shaped JSON document."""
        return {
            "genesis_time": self.genesis_time,
            "chain_id": self.chain_id,
            "initial_height": str(self.initial_height),
            "consensus_params": self.consensus_params,
            "validators": [v.to_json() for v in self.validators],
            "app_hash": self.app_hash,
            "app_state": self.app_state,
        }

    def dumps(self) -> str:
        """Indented JSON text."""
        return json.dumps(self.to_json(), indent=2, sort_keys=False)

    def init_chain_request(self) -> pb.abci.RequestInitChain:
        """The RequestInitChain CometBFT would send for this genesis."""
        seconds, nanos = parse_time(self.genesis_time)
        request = pb.abci.RequestInitChain(
            chain_id=self.chain_id,
            validators=[v.to_update() for v in self.validators],
            app_state_bytes=json.dumps(self.app_state, sort_keys=True).encode(),
            initial_height=self.initial_height,
        )
        request.time.seconds, request.time.nanos = seconds, nanos
        request.consensus_params.CopyFrom(consensus_params_proto(self.consensus_params))
        return request


def consensus_params_proto(data: dict[str, Any]) -> pb.tm_params.ConsensusParams:
    """Convert CometBFT genesis JSON consensus params to protobuf."""
    proto = pb.tm_params.ConsensusParams()
    try:
        block = data.get("block", {})
        proto.block.max_bytes = int(block.get("max_bytes", 22020096))
        proto.block.max_gas = int(block.get("max_gas", DEFAULT_BLOCK_MAX_GAS))
        evidence = data.get("evidence", {})
        proto.evidence.max_age_num_blocks = int(evidence.get("max_age_num_blocks", 100000))
        duration = int(evidence.get("max_age_duration", 172800000000000))
        proto.evidence.max_age_duration.seconds = duration // 1_000_000_000
        proto.evidence.max_age_duration.nanos = duration % 1_000_000_000
        proto.evidence.max_bytes = int(evidence.get("max_bytes", 1048576))
        keys = data.get("validator", {}).get("pub_key_types", ["ed25519"])
        proto.validator.pub_key_types.extend(keys)
        proto.version.app = int(data.get("version", {}).get("app", 1))
        height = int(data.get("abci", {}).get("vote_extensions_enable_height", 0))
        proto.abci.vote_extensions_enable_height = height
    except (TypeError, ValueError, AttributeError) as exc:
        raise ErrInvalidRequest.wrap(f"invalid consensus params: {exc}") from exc
    return proto


def consensus_params_json(p: pb.tm_params.ConsensusParams) -> dict[str, Any]:
    """Protobuf consensus params in CometBFT's JSON form (genesis and RPC): int64s as strings,
    the evidence age in nanoseconds; the inverse of ``consensus_params_proto``."""
    age = p.evidence.max_age_duration
    return {
        "block": {"max_bytes": str(p.block.max_bytes), "max_gas": str(p.block.max_gas)},
        "evidence": {
            "max_age_num_blocks": str(p.evidence.max_age_num_blocks),
            "max_age_duration": str(age.seconds * 1_000_000_000 + age.nanos),
            "max_bytes": str(p.evidence.max_bytes),
        },
        "validator": {"pub_key_types": list(p.validator.pub_key_types)},
        "version": {"app": str(p.version.app)},
        "abci": {"vote_extensions_enable_height": str(p.abci.vote_extensions_enable_height)},
    }


def parse_time(text: str) -> tuple[int, int]:
    """Parse an RFC 3339 timestamp into (seconds since epoch, nanos); integers only."""
    match = _RFC3339.match(text)
    if not match:
        raise ErrInvalidRequest.wrap(f"invalid RFC 3339 time {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    nanos = int((match.group(7) or "0").ljust(9, "0"))
    offset = 0
    zone = match.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    days = _days_from_civil(year, month, day)
    return days * 86400 + hour * 3600 + minute * 60 + second - offset, nanos


def format_time(seconds: int, nanos: int) -> str:
    """Format (seconds, nanos) as RFC 3339 UTC with nanoseconds trimmed of trailing zeros."""
    days, rest = divmod(seconds, 86400)
    year, month, day = _civil_from_days(days)
    hour, minute, second = rest // 3600, rest % 3600 // 60, rest % 60
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 (Howard Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    year = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return year + (month <= 2), month, day
