"""datatrove's fastText LID pointed at the local lid.176 file (``MODEL_URL`` set to a local path,
so datatrove reads it instead of downloading it).

Module-level so datatrove's worker processes can unpickle it."""

from pathlib import Path

from datatrove.utils.lid import FT176LID


class LocalFT176(FT176LID):
    MODEL_URL = str(Path(__file__).resolve().parents[1] / "models" / "lid.176.ftz")
