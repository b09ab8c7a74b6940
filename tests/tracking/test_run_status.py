"""The end status of a run and the Ctrl-C guard around store writes, whatever SIGINT handler is installed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from lightning.pytorch.utilities.exceptions import SIGTERMException as LightningSIGTERM

from tests.conftest import ROOT
from tradexp.tracking.run_status import hold_ctrl_c, run_status_for


def test_status_follows_the_exception_class_not_its_name():
    class SIGTERMException(Exception):  # same name, not Lightning's: a plain failure
        pass

    class TrialPruned(Exception):
        pass

    assert run_status_for(None) == "FINISHED"
    assert run_status_for(KeyboardInterrupt()) == "KILLED"
    assert run_status_for(LightningSIGTERM()) == "KILLED"
    assert run_status_for(optuna.TrialPruned("pruned at epoch 2")) == "FINISHED"
    assert run_status_for(SIGTERMException()) == "FAILED"
    assert run_status_for(TrialPruned()) == "FAILED"
    assert run_status_for(RuntimeError("x")) == "FAILED"


def _ctrl_c_during_a_write(events: list[str]) -> None:
    with hold_ctrl_c():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # a write in progress: the signal must not cut it
        events.append("write done")


def test_a_foreign_handler_gets_the_ctrl_c_once_the_write_is_done():
    events: list[str] = []

    def handler(signum, frame):  # e.g. a notebook's or an application's own Ctrl-C handler
        events.append(f"handler {signal.Signals(signum).name}")
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    with pytest.raises(KeyboardInterrupt):
        _ctrl_c_during_a_write(events)
    assert events == ["write done", "handler SIGINT"]  # the old guard stood aside: the handler cut the write
    assert signal.getsignal(signal.SIGINT) is handler


def test_ctrl_c_ignored_stays_ignored():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what Lightning sets while it shuts a fit down
    events: list[str] = []
    _ctrl_c_during_a_write(events)
    assert events == ["write done"]
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_sig_dfl_ends_the_process_after_the_write():
    code = (
        "import os, signal, time, sys\n"
        "from tradexp.tracking.run_status import hold_ctrl_c\n"
        "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
        "with hold_ctrl_c():\n"
        "    os.kill(os.getpid(), signal.SIGINT); time.sleep(0.05)\n"
        "    print('write done', flush=True)\n"
        "print('after the guard', flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGINT, done.stderr
    assert done.stdout.splitlines() == ["write done"]


def test_the_guard_stands_aside_outside_the_main_thread():
    import threading

    seen = []

    def write() -> None:
        with hold_ctrl_c():  # only the main thread may set handlers (and receives signals)
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(10)
    assert seen == [signal.default_int_handler]
