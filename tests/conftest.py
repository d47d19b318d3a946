"""Shared pytest configuration: hypothesis profiles (CI runs without deadlines), the
``chain`` fixture (a running node per driver, see ``chain_drivers.py``), the CLI runner
fixtures of ``cli_runner.py`` and ``cometbft_bin`` of ``comet_rpc.py``."""

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from chain_drivers import ChainEndpoint, start_chain

pytest_plugins = ["cli_runner", "comet_rpc"]  # fixtures run, offline_run and cometbft_bin

settings.register_profile(
    "ci", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=40)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(
    scope="module",
    params=["devnet", pytest.param("cometbft", marks=pytest.mark.e2e)],
)
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChainEndpoint]:
    """A running chain (RPC + REST + funded accounts), once per test module and driver."""
    driver: str = request.param
    with start_chain(driver, tmp_path_factory.mktemp(f"chain-{driver}")) as endpoint:
        yield endpoint
