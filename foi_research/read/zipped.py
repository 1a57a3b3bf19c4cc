"""Parts of zip-based documents (.docx, .xlsx) inflated with a cap: the sizes a zip declares are
not trusted, the bytes are counted as they come out (Limits.max_unzipped_bytes)."""
from __future__ import annotations

import io
import zipfile

from foi_research.read.limits import Limits, check

_CHUNK = 1 << 20


class Unzipper:
    def __init__(self, data: bytes, limits: Limits, what: str):
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as e:
            raise ValueError(f"the {what} file is damaged (not a valid zip package: {e}); re-download it or re-save it from Word/WPS/Excel") from None
        self.limits = limits
        self.what = what
        self.used = 0

    def names(self) -> list[str]:
        return self.zf.namelist()

    def read(self, name: str) -> bytes:
        out = []
        with self.zf.open(name) as f:
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    break
                self.used += len(chunk)
                check(self.limits, "max_unzipped_bytes", self.used, f"the {self.what} file inflates to more than {self.used:,} bytes (a zip bomb, or a huge embedded file)")
                out.append(chunk)
        return b"".join(out)

    def read_all(self) -> None:
        """Inflate every part once (counting), for readers that unzip the file themselves."""
        for info in self.zf.infolist():
            with self.zf.open(info) as f:
                while chunk := f.read(_CHUNK):
                    self.used += len(chunk)
                    check(self.limits, "max_unzipped_bytes", self.used, f"the {self.what} file inflates to more than {self.used:,} bytes (a zip bomb, or a huge embedded file)")
