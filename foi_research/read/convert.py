"""Legacy word-processor files (.doc, .wps, .rtf, .odt, ...), common as attachments on government
sites: converted to .docx by LibreOffice (`soffice --headless --convert-to docx`) when it is
installed, else read as text by antiword (.doc only); without either the file gets a failed row
whose message says how to convert it. Files named .doc that are really HTML, RTF-less text or a
.docx (sites often rename) are read as what they are."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from foi_research.read.base import Document
from foi_research.read.limits import DEFAULT, Limits

TIMEOUT = 180  # seconds for one conversion

HOW_TO = (
    "convert it to .docx and parse that: open it in Word or WPS and save as .docx, or run "
    "`soffice --headless --convert-to docx FILE` (LibreOffice; Debian/Ubuntu: apt-get install "
    "libreoffice-writer-nogui; conda: conda install -c conda-forge libreoffice), then parse again. With LibreOffice "
    "(or antiword for .doc: apt-get install antiword) on the PATH foi-research converts such files itself"
)


def converters() -> dict[str, str]:
    """The converters found on the PATH: {'soffice': path, 'antiword': path}."""
    out = {}
    for name in ("soffice", "libreoffice"):
        p = shutil.which(name)
        if p:
            out["soffice"] = p
            break
    p = shutil.which("antiword")
    if p:
        out["antiword"] = p
    return out


def read_converted(doc: Document, data: bytes, limits: Limits = DEFAULT) -> None:
    suffix = doc.path.suffix.lower() or ".doc"
    head = data[:2048].lstrip()
    if not data.startswith(b"\xd0\xcf\x11\xe0") and not head.startswith(b"{\\rtf") and suffix in (".doc", ".wps", ".dot", ".wpt"):
        # not a binary Word file at all: sites save HTML or text pages under .doc
        from foi_research.read import sniff

        if head[:1] == b"<":
            from foi_research.read.html import read_html

            doc.fmt = "html"
            return read_html(doc, data, limits)
        if sniff(data, "txt") == "txt":
            from foi_research.read.text import read_text

            doc.fmt = "txt"
            return read_text(doc, data, limits)
    conv = converters()
    what = {".doc": "an old Word (.doc)", ".wps": "a WPS (.wps)", ".rtf": "an RTF", ".odt": "an OpenDocument (.odt)"}.get(suffix, f"a {suffix}")
    if "soffice" in conv:
        return _via_soffice(doc, data, conv["soffice"], suffix, limits)
    if "antiword" in conv and suffix in (".doc", ".dot") and data.startswith(b"\xd0\xcf\x11\xe0"):
        return _via_antiword(doc, data, conv["antiword"], limits)
    raise ValueError(f"{what} file cannot be read directly and no converter is installed; {HOW_TO}")


def _via_soffice(doc: Document, data: bytes, exe: str, suffix: str, limits: Limits) -> None:
    from foi_research.read.docx import read_docx

    with tempfile.TemporaryDirectory(prefix="foi-convert-") as tmp:
        src = Path(tmp) / f"in{suffix}"
        src.write_bytes(data)
        profile = Path(tmp) / "profile"  # a private profile: parallel workers never share one
        cmd = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", "--convert-to", "docx", "--outdir", tmp, str(src)]
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL, env=dict(os.environ, HOME=tmp))
        except subprocess.TimeoutExpired:
            raise ValueError(f"LibreOffice did not convert the file within {TIMEOUT} s; {HOW_TO}") from None
        out = Path(tmp) / "in.docx"
        if r.returncode != 0 or not out.exists():
            msg = (r.stderr or r.stdout or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise ValueError(f"LibreOffice could not convert the file ({msg[0]}); {HOW_TO}")
        read_docx(doc, out.read_bytes(), limits)
    doc.encoding = f"docx (converted from {suffix} by LibreOffice)"


def _via_antiword(doc: Document, data: bytes, exe: str, limits: Limits) -> None:
    from foi_research.read.text import read_text

    with tempfile.TemporaryDirectory(prefix="foi-convert-") as tmp:
        src = Path(tmp) / "in.doc"
        src.write_bytes(data)
        try:
            r = subprocess.run([exe, "-w", "0", "-m", "UTF-8.txt", str(src)], capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ValueError(f"antiword did not convert the file within {TIMEOUT} s; {HOW_TO}") from None
        if r.returncode != 0 or not r.stdout.strip():
            raise ValueError(f"antiword could not read the file ({r.stderr.decode('utf-8', 'replace').strip()[:200]}); {HOW_TO}")
    read_text(doc, r.stdout, limits)
    doc.encoding = "text (converted from .doc by antiword)"
