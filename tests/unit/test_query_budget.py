"""The devnet's query share: queries past it wait for the next block, so a flood of free
reads delays a block by at most the share plus one query."""

from __future__ import annotations

import asyncio

from aivm.devnet.query_budget import QueryBudget


def test_queries_past_the_share_wait_for_the_next_block() -> None:
    async def scenario() -> list[str]:
        now = [0]
        budget = QueryBudget(limit_ms=100, clock=lambda: now[0])
        order: list[str] = []

        def slow_query(name: str) -> str:
            now[0] += 60_000_000  # each query takes 60 ms
            order.append(name)
            return name

        async def client(name: str) -> None:
            await budget.admit()
            budget.run(lambda: slow_query(name))

        tasks = [asyncio.create_task(client(f"q{i}")) for i in range(4)]
        await asyncio.sleep(0)  # every client gets its turn: two fit the share
        order.append("block")
        budget.new_block()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(scenario()) == ["q0", "q1", "block", "q2", "q3"]
