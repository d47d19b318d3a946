"""Differential replay and randomized simulation of the AIVM state machine (tests and scripts).

- :mod:`aivm.sim.differential` runs the same blocks on a warm, a cold and a state-synced app
  and compares every result;
- :mod:`aivm.sim.runner` generates random valid and invalid transactions from the operations
  each module registers (``aivm/modules/<name>/simulation.py``), checks every module's
  invariants (``aivm/modules/<name>/invariants.py``) after every block, and records the blocks;
- :mod:`aivm.sim.shrink` reduces a failing run to the shortest block sequence that still fails;
- :mod:`aivm.sim.bug_log` turns the app's ``BUG`` log lines (an internal error the node
  survives) into failures of the simulation and of the test harness's blocks;
- :mod:`aivm.sim.fuzz` builds structure-aware fuzz inputs (``scripts/fuzz.py``, ``tests/fuzz``).

Nothing in the node or the app imports this package; ``scripts/`` and the tests do. How to run
the simulation and add a module to it: ``docs/simulation.md``.
"""
