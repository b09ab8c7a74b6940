"""The argument parser of `tradexp fit/validate/test/predict`: a wrong value is one short message.

jsonargparse prints the whole usage (over a hundred lines for a LightningCLI) before a type error
such as `--data.window abc`; the message that matters is then the last line on screen. This parser
prints only the message and where to find the options, and exits with status 2 like argparse.
"""

from __future__ import annotations

import os
import re
import sys
from typing import NoReturn, Optional

from lightning.pytorch.cli import LightningArgumentParser
from typing_extensions import override

from tradexp.ranges import range_message

__all__ = ["TradexpArgumentParser", "one_line"]


def one_line(message: str) -> str:
    """jsonargparse's multi-line parse error as one line: `Parser key "data.window": Expected ...`.

    A value outside the range its type declares reads `data.window: 0 received; a whole number >= 1`
    (`tradexp.ranges.range_message`).
    """
    ranged = range_message(message)
    if ranged:
        return ranged
    lines = [re.sub(r"^- ", "", line.strip()) for line in message.strip().splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return message.strip()
    return " ".join([lines[0], "; ".join(lines[1:])]).strip()


class TradexpArgumentParser(LightningArgumentParser):
    """LightningArgumentParser whose parse errors are one line without the usage dump."""

    @override
    def error(self, message: str, ex: Optional[Exception] = None) -> NoReturn:
        debug = os.environ.get("JSONARGPARSE_DEBUG", "").lower() not in ("", "0", "false", "no")
        parser = getattr(ex, "subcommand_parser", None) or self
        message = self._name_unknown_keys(message, parser)
        if not self.exit_on_error or debug:
            super().error(message, ex)
        prog = re.sub(r"^\S*__main__\.py", "tradexp", parser.prog.replace(" [options]", ""))
        sys.stderr.write(f"tradexp: error: {one_line(message)}\n  (`{prog} --help` lists every option)\n")
        self.exit(2)

    def _name_unknown_keys(self, message: str, parser: "LightningArgumentParser") -> str:
        """Every unknown key (options and YAML), each with the nearest valid key; else `message` as is."""
        from tradexp.config.unknown_keys import unknown_keys_message, valid_keys

        args = list(getattr(self, "args", None) or [])
        try:
            better = unknown_keys_message(message, args, valid_keys(parser))
        except Exception:  # noqa: BLE001 - the hint must never hide jsonargparse's own message
            return message
        return better or message
