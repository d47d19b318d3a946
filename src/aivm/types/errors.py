"""Error registry: every failure the chain reports carries a registered (codespace, code).

Codes in the ``sdk`` codespace keep the numbers of the Cosmos SDK (``types/errors``), so
clients such as cosmjs and cosmpy interpret them as they would on any Cosmos chain. Each
module registers its own codespace (its module name) with codes starting at 2.

Usage::

    ErrInsufficientFunds.wrap("1ucgpt is smaller than 5ucgpt")   # -> AivmError
    raise ErrInvalidAddress.wrap(f"invalid address {addr!r}")
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT_CODESPACE = "sdk"
UNDEFINED_CODESPACE = "undefined"

_REGISTRY: dict[tuple[str, int], ErrorCode] = {}


@dataclass(frozen=True)
class ErrorCode:
    """A registered error kind: (codespace, code) plus a short description."""

    codespace: str
    """Module name that owns the code (``sdk`` for the standard codes)."""
    code: int
    """Code within the codespace; 0 means success and is never registered."""
    description: str
    """Short, stable description used as the log prefix."""

    def wrap(self, detail: str = "") -> AivmError:
        """Return an exception of this kind whose log is ``detail: description``."""
        return AivmError(self, detail)

    def is_(self, err: BaseException) -> bool:
        """True when ``err`` is an :class:`AivmError` of this kind."""
        return isinstance(err, AivmError) and err.error == self


class AivmError(Exception):
    """An error with a registered code. Handlers raise it; the app turns it into a result."""

    def __init__(self, error: ErrorCode, detail: str = "") -> None:
        self.error = error
        self.detail = detail
        super().__init__(self.log)

    @property
    def codespace(self) -> str:
        """The owning codespace."""
        return self.error.codespace

    @property
    def code(self) -> int:
        """The numeric code."""
        return self.error.code

    @property
    def log(self) -> str:
        """The human-readable log, as the Cosmos SDK formats it (``detail: description``)."""
        if self.detail:
            return f"{self.detail}: {self.error.description}"
        return self.error.description


def register(codespace: str, code: int, description: str) -> ErrorCode:
    """Register a new error code; registering the same (codespace, code) twice is a bug."""
    if code <= 1 and codespace != UNDEFINED_CODESPACE:
        raise ValueError("codes 0 and 1 are reserved")
    key = (codespace, code)
    if key in _REGISTRY:
        raise ValueError(f"error code {codespace}/{code} is already registered")
    error = ErrorCode(codespace, code, description)
    _REGISTRY[key] = error
    return error


def lookup(codespace: str, code: int) -> ErrorCode | None:
    """Return the registered error for (codespace, code), or None."""
    return _REGISTRY.get((codespace, code))


ErrInternal = register(UNDEFINED_CODESPACE, 1, "internal")
ErrTxDecode = register(ROOT_CODESPACE, 2, "tx parse error")
ErrInvalidSequence = register(ROOT_CODESPACE, 3, "invalid sequence")
ErrUnauthorized = register(ROOT_CODESPACE, 4, "unauthorized")
ErrInsufficientFunds = register(ROOT_CODESPACE, 5, "insufficient funds")
ErrUnknownRequest = register(ROOT_CODESPACE, 6, "unknown request")
ErrInvalidAddress = register(ROOT_CODESPACE, 7, "invalid address")
ErrInvalidPubKey = register(ROOT_CODESPACE, 8, "invalid pubkey")
ErrUnknownAddress = register(ROOT_CODESPACE, 9, "unknown address")
ErrInvalidCoins = register(ROOT_CODESPACE, 10, "invalid coins")
ErrOutOfGas = register(ROOT_CODESPACE, 11, "out of gas")
ErrMemoTooLarge = register(ROOT_CODESPACE, 12, "memo too large")
ErrInsufficientFee = register(ROOT_CODESPACE, 13, "insufficient fee")
ErrTooManySignatures = register(ROOT_CODESPACE, 14, "maximum number of signatures exceeded")
ErrNoSignatures = register(ROOT_CODESPACE, 15, "no signatures supplied")
ErrJSONMarshal = register(ROOT_CODESPACE, 16, "failed to marshal JSON bytes")
ErrJSONUnmarshal = register(ROOT_CODESPACE, 17, "failed to unmarshal JSON bytes")
ErrInvalidRequest = register(ROOT_CODESPACE, 18, "invalid request")
ErrTxInMempoolCache = register(ROOT_CODESPACE, 19, "tx already in mempool")
ErrMempoolIsFull = register(ROOT_CODESPACE, 20, "mempool is full")
ErrTxTooLarge = register(ROOT_CODESPACE, 21, "tx too large")
ErrKeyNotFound = register(ROOT_CODESPACE, 22, "key not found")
ErrWrongPassword = register(ROOT_CODESPACE, 23, "invalid account password")
ErrInvalidSigner = register(
    ROOT_CODESPACE, 24, "tx intended signer does not match the given signer"
)
ErrInvalidGasAdjustment = register(ROOT_CODESPACE, 25, "invalid gas adjustment")
ErrInvalidHeight = register(ROOT_CODESPACE, 26, "invalid height")
ErrInvalidVersion = register(ROOT_CODESPACE, 27, "invalid version")
ErrInvalidChainID = register(ROOT_CODESPACE, 28, "invalid chain-id")
ErrInvalidType = register(ROOT_CODESPACE, 29, "invalid type")
ErrTxTimeoutHeight = register(ROOT_CODESPACE, 30, "tx timeout height")
ErrUnknownExtensionOptions = register(ROOT_CODESPACE, 31, "unknown extension options")
ErrWrongSequence = register(ROOT_CODESPACE, 32, "incorrect account sequence")
ErrPackAny = register(ROOT_CODESPACE, 33, "failed packing protobuf message to Any")
ErrUnpackAny = register(ROOT_CODESPACE, 34, "failed unpacking protobuf message from Any")
ErrLogic = register(ROOT_CODESPACE, 35, "internal logic error")
ErrConflict = register(ROOT_CODESPACE, 36, "conflict")
ErrNotSupported = register(ROOT_CODESPACE, 37, "feature not supported")
ErrNotFound = register(ROOT_CODESPACE, 38, "not found")
ErrIO = register(ROOT_CODESPACE, 39, "Internal IO error")
ErrAppConfig = register(ROOT_CODESPACE, 40, "error in app.toml")
ErrInvalidGasLimit = register(ROOT_CODESPACE, 41, "invalid gas limit")
ErrTxTimeout = register(ROOT_CODESPACE, 42, "tx timeout")
ErrPanic = register(UNDEFINED_CODESPACE, 111222, "panic")
