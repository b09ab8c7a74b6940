"""`RunData`'s artifact readers: parsed when readable, None (and one warning) when absent or broken."""

from __future__ import annotations

import logging

from tradexp.reporting.read_runs import RunData

FILES = {
    "ok.json": b'{"sharpe": 0.5}',
    "bad.json": b"{not json",
    "ok.yaml": b"model:\n  lr: 0.01\n",
    "bad.yaml": b"a: [1, 2\n",
    "ok.csv": b"step,equity\n0,1.0\n1,1.1\n",
    "bad.csv": b'a,b\n"1,2\n',
}


def test_readers_parse_good_artifacts_and_warn_on_broken_ones(caplog):
    run = RunData("r1", "r1", "1", "exp", "FINISHED", 0, 1, files=FILES)
    assert run.json("ok.json") == {"sharpe": 0.5}
    assert run.yaml("ok.yaml") == {"model": {"lr": 0.01}}
    assert run.csv("ok.csv")["equity"].tolist() == [1.0, 1.1]
    with caplog.at_level(logging.WARNING, logger="tradexp.reporting.read_runs"):
        assert [run.json("bad.json"), run.yaml("bad.yaml"), run.csv("bad.csv")] == [None, None, None]
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "run r1: `bad.json` is not valid JSON",
        "run r1: `bad.yaml` is not valid YAML",
        "run r1: `bad.csv` is not a readable CSV",
    ]
    assert [run.json("none.json"), run.yaml("none.yaml"), run.csv("none.csv"), run.text("none.txt")] == [None] * 4
