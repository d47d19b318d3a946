"""``<home>/provider.toml``: the provider node's configuration, written by ``aivm provider
init`` and read by ``aivm provider start|status``.

Example file::

    key = "alice"
    keyring-backend = "test"
    node = "http://127.0.0.1:26657"
    rest = "http://127.0.0.1:1317"
    capacity = 4
    max-batch = 256
    upload-outputs = "large"

    [[offers]]
    model-id = 1
    version = "1.0.0"
    price-per-unit = 250

    [hardware]
    cpu-cores = 16
    ...
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aivm.worker.hardware import HardwareProfile

CONFIG_FILE = "provider.toml"
UPLOAD_MODES = ("large", "always")
"""``upload-outputs``: ``large`` uploads only outputs too big to travel inline in the result
(over the chain's ``max_comparison_bytes``); ``always`` uploads every output as well."""


class ConfigError(ValueError):
    """A missing or malformed ``provider.toml``."""


@dataclass(frozen=True)
class Offer:
    """A model version the node serves and its price per unit (ucgpt)."""

    model_id: int
    version: str
    price_per_unit: int

    @classmethod
    def parse(cls, text: str) -> Offer:
        """``MODEL_ID:VERSION:PRICE`` (the price may end in ``ucgpt``)."""
        parts = text.split(":")
        price = parts[2].removesuffix("ucgpt") if len(parts) == 3 else ""
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1] or not price.isdigit():
            raise ConfigError(f"offer {text!r} is not MODEL_ID:VERSION:PRICE")
        return cls(int(parts[0]), parts[1], int(price))


@dataclass(frozen=True)
class ProviderConfig:
    """Everything the node needs besides its key material (kept in the home's keyring)."""

    key: str
    node: str = "http://127.0.0.1:26657"
    rest: str = "http://127.0.0.1:1317"
    keyring_backend: str = "file"
    capacity: int = 1
    max_batch: int = 256
    poll_seconds: float = 0.5
    upload_outputs: str = "large"
    offers: tuple[Offer, ...] = ()
    hardware: HardwareProfile = field(default_factory=lambda: HardwareProfile(1, 1024))

    def serves(self, model_id: int, version: str) -> bool:
        """Whether the node offers this model version."""
        return any(o.model_id == model_id and o.version == version for o in self.offers)


def _value(value: Any) -> str:
    return json.dumps(value)


def render(config: ProviderConfig) -> str:
    """The TOML text of ``config``."""
    lines = [
        "# AIVM provider node (aivm provider init). The hardware table was measured on the",
        "# machine that ran init; offers and capacity are what the node serves.",
        f"key = {_value(config.key)}",
        f"keyring-backend = {_value(config.keyring_backend)}",
        f"node = {_value(config.node)}",
        f"rest = {_value(config.rest)}",
        f"capacity = {config.capacity}",
        f"max-batch = {config.max_batch}",
        f"poll-seconds = {config.poll_seconds!r}",
        f"upload-outputs = {_value(config.upload_outputs)}",
    ]
    for offer in config.offers:
        lines += [
            "",
            "[[offers]]",
            f"model-id = {offer.model_id}",
            f"version = {_value(offer.version)}",
            f"price-per-unit = {offer.price_per_unit}",
        ]
    lines += ["", "[hardware]"]
    for name, value in config.hardware.as_dict().items():
        lines.append(f"{name.replace('_', '-')} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _kebab(table: dict[str, Any]) -> dict[str, Any]:
    return {k.replace("-", "_"): v for k, v in table.items()}


def parse(text: str, where: str = CONFIG_FILE) -> ProviderConfig:
    """A config from TOML text; unknown keys and wrong types are errors."""
    try:
        document = _kebab(tomllib.loads(text))
        offers = tuple(Offer(**_kebab(o)) for o in document.pop("offers", []))
        measured = document.pop("hardware", {"cpu-cores": 1, "memory-mib": 1024})
        hardware = HardwareProfile(**_kebab(measured))
        config = ProviderConfig(**document, offers=offers, hardware=hardware)
    except (tomllib.TOMLDecodeError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not config.key:
        raise ConfigError(f"{where}: key is empty")
    if config.capacity < 1 or config.max_batch < 1:
        raise ConfigError(f"{where}: capacity and max-batch must be at least 1")
    if config.upload_outputs not in UPLOAD_MODES:
        raise ConfigError(
            f"{where}: upload-outputs must be one of {', '.join(map(repr, UPLOAD_MODES))}, "
            f"not {config.upload_outputs!r}"
        )
    return config


def path_of(home: Path) -> Path:
    """``<home>/provider.toml``."""
    return home / CONFIG_FILE


def load(home: Path) -> ProviderConfig:
    """The config of the node at ``home``."""
    path = path_of(home)
    if not path.exists():
        raise ConfigError(f"{path} does not exist (run 'aivm provider init --home {home}')")
    return parse(path.read_text(), str(path))


def save(home: Path, config: ProviderConfig) -> Path:
    """Write ``<home>/provider.toml``; returns its path."""
    home.mkdir(parents=True, exist_ok=True)
    path = path_of(home)
    path.write_text(render(config))
    return path
