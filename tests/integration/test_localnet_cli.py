"""``aivm localnet`` on a localnet made with a stand-in ``cometbft`` (only its ``init``: keys
and a config.toml), so no CometBFT is built or run: every node of the home, the full nodes
``Localnet.add_node`` added included, is listed by ``status`` and addressable by index."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

from aivm.tools.localnet import CONSENSUS_TIMEOUTS, Localnet, free_base_port
from cli_runner import Run

FAKE_COMETBFT = f"""#!{sys.executable}
# stand-in for `cometbft init --home H`: node and validator keys, a minimal config.toml
import base64, json, os, sys
home = sys.argv[sys.argv.index("--home") + 1]
os.makedirs(os.path.join(home, "config"), exist_ok=True)
def key(name, kind):
    raw = os.urandom(64)
    data = {{"priv_key": {{"type": kind, "value": base64.b64encode(raw).decode()}}}}
    if name == "priv_validator_key.json":
        data["pub_key"] = {{"type": kind, "value": base64.b64encode(raw[32:]).decode()}}
    with open(os.path.join(home, "config", name), "w") as f:
        json.dump(data, f)
key("node_key.json", "tendermint/PrivKeyEd25519")
key("priv_validator_key.json", "tendermint/PrivKeyEd25519")
consensus = "".join(f"{{k}} = x\\n" for k in {sorted(CONSENSUS_TIMEOUTS)!r})
with open(os.path.join(home, "config", "config.toml"), "w") as f:
    f.write('proxy_app = ""\\nmoniker = ""\\n[rpc]\\nladdr = ""\\n[p2p]\\nladdr = ""\\n'
            'persistent_peers = ""\\naddr_book_strict = true\\nallow_duplicate_ip = false\\n'
            '[consensus]\\ncreate_empty_blocks = false\\n' + consensus)
"""


def fake_cometbft(tmp_path: Path) -> Path:
    """A ``cometbft`` whose ``init`` writes what ``Localnet.init``/``add_node`` read."""
    path = tmp_path / "cometbft"
    path.write_text(FAKE_COMETBFT)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_status_lists_the_nodes_add_node_added(tmp_path: Path, offline_run: Run) -> None:
    home = tmp_path / "net"
    net = Localnet.init(home, 2, fake_cometbft(tmp_path), base_port=free_base_port(3), accounts=1)
    added = net.add_node()
    assert added == 2

    code, out, err = offline_run("localnet", "status", "--home", str(home), "-o", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["node"] for r in rows] == ["node0", "node1", "node2"]
    assert rows[2]["rpc"] == net.rpc_url(2) and rows[2]["app"] is False
    code, out, err = offline_run("localnet", "status", "--home", str(home))
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["node0", "node1", "node2"]

    # the added node is addressable by index too (nothing runs: stopping it stops nothing)
    code, out, err = offline_run("localnet", "stop", "2", "--home", str(home), "-o", "json")
    assert code == 0, err
    assert json.loads(out) == {"stopped": []}
    code, _, err = offline_run("localnet", "stop", "3", "--home", str(home))
    assert code == 1 and "node 3 out of range (the localnet has 3)" in err
