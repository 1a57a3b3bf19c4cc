"""The reliability battery (issue 17): hostile inputs and faults, generated small and seeded, each
run the way a researcher meets it, each checked against the README's promise: a bad input never
stops the others and gets a row saying why; no traceback; nothing hangs; no report is lost; no
file outside the dataset is deleted; command errors exit 2.

    python tests/reliability.py            # run the battery, print the table
    python tests/reliability.py --readme   # ... and write the table into README.md

tests/test_reliability.py runs the same battery under pytest (every case must be handled) and
checks that README.md shows its table. A case's outcome:

- handled: the promise held (the input got its rows, or the command exited with the documented
  code and message);
- crash: a traceback, an exception escaping, or an unexpected exit code;
- hang: the case did not end within its time;
- lost reports: reports expected (good files beside the bad ones, reports in a concatenation)
  and not found;
- deleted outside the dataset: files beside the output folder (a researcher's own) missing or
  changed afterwards.
"""
from __future__ import annotations

import errno
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "corpus"
SEEDS = DATA / "seeds"
SEED = SEEDS / "004_c04978ea7ee6ff4b.txt"  # 平阴县 2021, pipe rows
SEED2 = SEEDS / "002_fd629941e7a907e0.txt"  # 临淄区工业和信息化局 2021
README = ROOT / "README.md"
BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"
RNG_SEED = 17


@dataclass
class Outcome:
    handled: bool
    crash: bool = False
    hang: bool = False
    lost: int = 0
    deleted: int = 0
    detail: str = ""


@dataclass
class Case:
    group: str
    name: str
    issue: str  # the item of issue 17 it checks
    outcome: Outcome | None = None


@dataclass
class Battery:
    work: Path
    cases: list[Case] = field(default_factory=list)

    def add(self, group: str, name: str, issue: str, outcome: Outcome) -> None:
        self.cases.append(Case(group, name, issue, outcome))


# ---------------------------------------------------------------------------------------------
# Helpers


def _env(mark: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "FOI_CHARTS"}
    if mark:
        env["FOI_TEST_MARK"] = mark
    return env


def _cli(args: list[str], timeout: float = 120, env: dict | None = None) -> tuple[int | None, str]:
    """Run the command line in its own process: (exit code, or None when it hung; stderr)."""
    try:
        r = subprocess.run([sys.executable, "-m", "foi_research.cli", *args], capture_output=True, text=True, timeout=timeout, env=env or _env(), cwd=ROOT)
    except subprocess.TimeoutExpired as e:
        return None, str(e.stderr or "")
    return r.returncode, r.stderr + r.stdout


def _cli_here(args: list[str]) -> tuple[int, str]:
    """Run the command line in this process (for cases that need a fault injected)."""
    from foi_research import cli

    buf = io.StringIO()
    with redirect_stderr(buf), redirect_stdout(buf):
        old = cli.err
        from rich.console import Console

        cli.err = Console(file=buf, soft_wrap=True)
        try:
            rc = cli.run(args)
        finally:
            cli.err = old
    return rc, buf.getvalue()


def _snapshot(folder: Path, skip: set[str] = frozenset()) -> dict[str, bytes]:
    out = {}
    for p in folder.rglob("*"):
        rel = p.relative_to(folder)
        if rel.parts and rel.parts[0] in skip:
            continue
        if p.is_file() and not p.is_symlink():
            out[str(rel)] = p.read_bytes()
    return out


def _deleted(before: dict[str, bytes], folder: Path) -> int:
    return sum(1 for k, v in before.items() if not (folder / k).is_file() or (folder / k).read_bytes() != v)


def _marked(mark: str) -> list[int]:
    import psutil

    out = []
    for q in psutil.process_iter():
        try:
            if q.environ().get("FOI_TEST_MARK") == mark:
                out.append(q.pid)
        except psutil.Error:
            pass
    return out


def _gone(mark: str, seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while _marked(mark):
        if time.monotonic() > end:
            return False
        time.sleep(0.2)
    return True


def _read(ds: Path):
    from foi_research.validate.dataset import read_dataset

    return read_dataset(ds)


def _good_dataset(ds: Path) -> None:
    from foi_research.pipeline import parse_file
    from foi_research.validate.dataset import DatasetWriter

    with DatasetWriter(ds) as w:
        w.add(parse_file(SEED))


def _workspace(b: Battery, name: str) -> tuple[Path, Path, dict]:
    """A folder with a researcher's own files and a good dataset `ds` in it: (folder, ds, snapshot
    of the researcher's files)."""
    d = b.work / name
    (d / "notes").mkdir(parents=True)
    (d / "notes" / "thesis.docx").write_bytes(b"my thesis")
    (d / "manifest.json").write_text('{"name": "my web app"}', encoding="utf-8")
    ds = d / "ds"
    _good_dataset(ds)
    return d, ds, _snapshot(d, skip={"ds"})


# ---------------------------------------------------------------------------------------------
# Inputs: one folder of hostile files beside good ones, parsed by the command line


def _docx(path: Path, document_xml: bytes) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
                   'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        z.writestr("word/document.xml", document_xml)


def _pdf(path: Path, pages: int, text: bool = True) -> None:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for i in range(pages):
        if text:
            c.drawString(72, 720, f"page {i + 1}")
        else:
            c.rect(72, 72, 200, 200, fill=1)  # a drawing, no text layer (as a scan)
        c.showPage()
    c.save()


def make_inputs(folder: Path) -> dict[str, tuple[str, str, int]]:
    """Write the hostile inputs. Returns {file name in the folder: (group, what it is, reports
    expected)}: 0 reports expected means one failed / no_tables row with a quality row."""
    rng = random.Random(RNG_SEED)
    seed = SEED.read_text(encoding="utf-8")
    seed2 = SEED2.read_text(encoding="utf-8")
    folder.mkdir(parents=True)
    f = folder
    cases: dict[str, tuple[str, str, int]] = {}

    def put(name: str | bytes, data: bytes, group: str, what: str, expect: int = 0):
        p = os.path.join(os.fsencode(f), name) if isinstance(name, bytes) else str(f / name)
        with open(p, "wb") as fh:
            fh.write(data)
        cases[os.fsdecode(os.path.basename(p))] = (group, what, expect)

    B = "bytes and encodings"
    put("good-1.txt", seed.encode(), B, "good report beside the bad ones", 1)
    put("good-2.txt", seed2.encode(), B, "good report beside the bad ones", 1)
    put("empty.txt", b"", B, "empty file")
    put("blank.txt", b" \n\t\n\r\n" * 100, B, "only whitespace")
    put("random.txt", bytes(rng.randrange(256) for _ in range(20_000)), B, "random bytes named .txt")
    put("nul.txt", seed.encode()[:3000] + b"\x00" * 100 + seed.encode()[3000:], B, "text with NUL bytes")
    put("utf16.txt", seed.encode("utf-16-le"), B, "UTF-16 without BOM", 1)
    put("gbk.txt", seed.encode("gb18030"), B, "GB18030 text", 1)
    put("cut-utf8.txt", seed.encode()[:-2], B, "UTF-8 cut mid-character", 1)
    put("mixed.txt", seed.encode()[:5000] + seed.encode("gb18030")[5000:], B, "UTF-8 then GBK in one file (a row saying why)")

    F = "formats and sizes"
    put("text-named.pdf", seed.encode(), F, "text named .pdf (a row saying why)")
    put("garbage.docx", bytes(rng.randrange(256) for _ in range(5000)), F, "garbage named .docx")
    put("notzip.xlsx", b"PK\x03\x04" + b"\x00" * 100, F, "broken zip named .xlsx")
    bomb = f / "bomb.docx"
    ns = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    _docx(bomb, b"<w:document " + ns + b"><w:body>" + b" " * (40 << 20) + b"</w:body></w:document>")  # 40 MB inflated from ~40 KB
    cases["bomb.docx"] = (F, "deflate bomb .docx (40 MB inflated, run with --max-unzipped-mb 10)", 0)
    W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    merged = ('<w:tr><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>一、本年新收政府信息公开申请数量</w:t></w:r></w:p></w:tc>'
              '<w:tc><w:p><w:r><w:t>1</w:t></w:r></w:p></w:tc></w:tr>'
              + '<w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc><w:tc><w:tcPr><w:gridSpan w:val="3"/></w:tcPr><w:p/></w:tc></w:tr>' * 8000)
    _docx(f / "merged.docx", f'<w:document {W}><w:body><w:p><w:r><w:t>某局2021年政府信息公开工作年度报告</w:t></w:r></w:p><w:tbl>{merged}</w:tbl></w:body></w:document>'.encode())
    cases["merged.docx"] = (F, "a small .docx with 8,000 merged table rows", -1)
    put("huge.txt", (seed * 650).encode(), F, "a 4 MB file, run with --max-file-mb 3")
    cell = '<td colspan="50" rowspan="200">1</td>'
    put("spans.html", ("<html><body><table>" + ("<tr>" + cell * 30 + "</tr>") * 200 + "</table></body></html>").encode(), F,
        "HTML table with colspan/rowspan at their caps on every cell")
    put("deep.html", ("<html><body>" + "<div>" * 50_000 + "x" + "</div>" * 50_000 + "</body></html>").encode(), F, "HTML nested 50,000 deep")
    put("digits.txt", ("一、总体情况\n" + " ".join(str(rng.randrange(10)) for _ in range(50_000)) + "\n").encode(), F,
        "a 100 KB line of space-separated digits", 0)
    put("oneline.txt", ("政府信息公开" * 110_000).encode(), F, "one 2 MB line of text", 0)
    put("big.txt", (seed * 400).encode(), F, "a 2.5 MB file, run with --max-seconds 2 (stopped or read)", -1)
    _pdf(f / "pages.pdf", 30)
    cases["pages.pdf"] = (F, "a 30-page PDF, run with --max-pages 20", 0)
    _pdf(f / "scan.pdf", 2, text=False)
    cases["scan.pdf"] = (F, "a PDF without a text layer (a scan)", 0)
    put("old.doc", b"\xd0\xcf\x11\xe0" + bytes(500), F, "a .doc (converted when a converter is installed)")
    put("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(200), F, "an image")
    put("archive.zip", b"PK\x05\x06" + bytes(18), F, "an archive")

    S = "structure"
    put("four.txt", "\n".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("00[1-4]*.txt"))).encode(), S, "four reports concatenated", 4)
    small = "临淄区人民政府办公室2015年度政府信息公开工作年度报告\n根据《中华人民共和国政府信息公开条例》的规定，现公布本年度报告。\n一、概述\n本年度主动公开信息120条。\n"
    put("repeated.txt", (small * 2000).encode(), S, "a report repeated 2,000 times", 2000)
    shutil.copy(SEEDS / "000_ed6d48b603b61876.txt", f / "listing.txt")
    cases["listing.txt"] = (S, "a listing: guide, then 16 reports", 16)

    N = "numbers and text"
    assert "| 3 | 0 | 0 | 0 | 0 | 0 | 3 |" in seed
    put("int64.txt", seed.replace("| 3 | 0 | 0 | 0 | 0 | 0 | 3 |", "| 9223372036854775808 | 0 | 0 | 0 | 0 | 0 | 9223372036854775807 |", 1).encode(), N,
        "a cell above int64, another at 2^63-1", 1)
    put("js-title.txt", seed.replace("平阴县人民政府办公室2021年", "平阴县[x](javascript:alert(1))人民政府办公室2021年", 1).encode(), N,
        "a title holding a javascript: Markdown link", 1)
    put("formula.txt", seed.replace("平阴县人民政府办公室2021年", "=cmd|' /C calc'!A0平阴县人民政府办公室2021年", 1).encode(), N,
        "a title starting with a spreadsheet formula", 1)

    K = "names and kinds"
    put("平阴县2021年报告.txt".encode("gbk"), seed.encode(), K, "a GBK file name (zip from Chinese Windows)", 1)
    put(b"\xff\xfe bad.txt", seed.encode(), K, "a file name in no encoding", 1)
    put("line\nbreak.txt", seed.encode(), K, "a file name with a line break", 1)
    put("x" * 240 + ".txt", seed.encode(), K, "a 244-character file name", 1)
    os.mkfifo(f / "fifo.txt")
    cases["fifo.txt"] = (K, "a FIFO named .txt (opening it blocks)", 0)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(f / "socket.txt"))
    s.close()
    cases["socket.txt"] = (K, "a socket file", 0)
    os.symlink(f / "nowhere.txt", f / "broken-link.txt")
    cases["broken-link.txt"] = (K, "a broken link", 0)
    (f / "sub").mkdir()
    os.symlink(f, f / "sub" / "loop")
    shutil.copy(SEED, f / "sub" / "nested.txt")
    cases["nested.txt"] = (K, "a subfolder holding a link back to its parent (a loop)", 1)
    return cases


def run_inputs(b: Battery, backend: str) -> None:
    """Parse the folder of hostile inputs with the command line (backend serial or processes)."""
    d = b.work / f"inputs-{backend}"
    cases = make_inputs(d / "in")
    mine = _snapshot(d)
    out = d / "ds"
    rc, err = _cli(["parse", str(d / "in"), "--out", str(out), "-q", "--backend", backend, "--workers", "2",
                    "--max-unzipped-mb", "10", "--max-pages", "20", "--max-seconds", "2", "--max-file-mb", "3"], timeout=240)
    group_name = f"inputs ({'worker processes' if backend == 'processes' else 'one process'})"
    if rc is None or rc != 0:
        for name, (group, what, _) in cases.items():
            b.add(group, f"{what} [{group_name}]", "17.2-17.5", Outcome(False, crash=rc is not None, hang=rc is None, detail=err[-500:]))
        return
    ds = _read(out)
    import polars as pl

    reports = ds["reports"].with_columns(pl.col("source_file").map_elements(lambda s: os.path.basename(s), return_dtype=pl.String).alias("_f"))
    quality = ds["quality"]
    deleted = _deleted(mine, d)
    for name, (group, what, expect) in cases.items():
        shown = name.encode("utf-8", "surrogateescape").decode("gb18030", "replace") if any(0xDC80 <= ord(c) <= 0xDCFF for c in name) else name
        rows = reports.filter(pl.col("_f") == shown)
        if rows.height == 0 and shown != name:  # (names in no encoding are shown with \\xNN escapes)
            rows = reports.filter(pl.col("_f").str.contains(" bad.txt", literal=True))
        detail = ""
        if expect > 0:
            got = rows.filter(pl.col("status") != "failed").height
            lost = max(0, expect - got)
            ok = lost == 0 and rows.height == expect
            detail = f"{got} of {expect} reports"
        else:
            q = quality.filter(pl.col("report_id").is_in(rows["report_id"].to_list()))
            ok = rows.height >= 1 and (expect < 0 or set(rows["status"]) <= {"failed", "no_tables"}) and q.height >= 1
            lost = 0 if rows.height >= 1 else 1
            detail = f"{rows.height} row(s), status {sorted(set(rows['status']))}, checks {sorted(set(q['check']))[:4]}"
        b.add(group, f"{what} [{group_name}]", "17.2-17.5", Outcome(ok and deleted == 0, lost=lost, deleted=deleted, detail=detail))


# ---------------------------------------------------------------------------------------------
# Output folders, command errors, environment


def run_output_cases(b: Battery) -> None:
    G = "output folders and command errors"
    d, ds, mine = _workspace(b, "outputs")
    before = _snapshot(ds)

    def check(name, args, code, text, here=False):
        rc, err = _cli_here(args) if here else _cli(args)
        ok = rc == code and text in err and "Traceback" not in err
        dele = _deleted(mine, d)
        kept = _snapshot(ds) == before
        b.add(G, name, "17.1/17.6", Outcome(ok and dele == 0 and kept, crash=rc not in (code, None), hang=rc is None, deleted=dele + (0 if kept else 1), detail=err[-300:]))

    check("--out on a folder with some other manifest.json", ["parse", str(SEED), "--out", str(d), "-q"], 2, "not a foi-research dataset", here=True)
    check("--out on a folder of the researcher's files", ["build", str(SEED), "--out", str(d / "notes"), "-q", "--workers", "1"], 2, "not a foi-research dataset", here=True)
    check("parse /no/such/dir --out a good dataset", ["parse", str(d / "no" / "such"), "--out", str(ds), "-q"], 2, "not found", here=True)
    check("build a missing input", ["build", str(d / "nope.txt"), "--out", str(ds), "-q"], 2, "not found", here=True)
    check("evaluate --truth /nonexistent --min-t3 0.99", ["evaluate", "--truth", str(d / "nonexistent"), "--min-t3", "0.99"], 2, "no such folder", here=True)
    check("a bad --backend", ["parse", str(SEED), "--out", str(ds), "--backend", "threads", "-q"], 2, "not a backend", here=True)
    from foi_research import executor

    saved, executor.DASK_CONNECT_TIMEOUT = executor.DASK_CONNECT_TIMEOUT, "2s"  # (10 s for real)
    try:
        check("an unreachable --dask address", ["parse", str(SEED), "--out", str(ds), "--dask", "tcp://127.0.0.1:9", "-q"], 2, "cannot reach the Dask scheduler", here=True)
    finally:
        executor.DASK_CONNECT_TIMEOUT = saved
    check("--out on a mount point", ["parse", str(SEED), "--out", "/proc", "-q"], 2, "mount point", here=True)
    check("--out where folders cannot be made (permission denied)", ["parse", str(SEED), "--out", "/sys/foi-research-test/ds", "-q"], 2, "Operation not permitted", here=True)
    from foi_research.atomic import Staging

    holder = Staging(ds)
    try:
        check("a second run on the same folder at the same time", ["parse", str(SEED), "--out", str(ds), "-q"], 2, "another foi-research run", here=True)
    finally:
        holder.abort()

    # disk full and a read-only disk while writing: the writer's first write fails
    from foi_research.validate import dataset as dsmod

    for label, err_no in (("the disk full while writing", errno.ENOSPC), ("a read-only file system while writing", errno.EROFS)):
        real = dsmod.DatasetWriter._write

        def failing(self, batch, err_no=err_no):
            raise OSError(err_no, os.strerror(err_no), str(self.tmp / "reports.parquet"))

        dsmod.DatasetWriter._write = failing
        try:
            check(label, ["parse", str(SEED), "--out", str(ds), "-q"], 2, os.strerror(err_no), here=True)
        finally:
            dsmod.DatasetWriter._write = real
    left = [p.name for p in d.iterdir() if ".staging-" in p.name or p.name.endswith(".lock")]
    b.add(G, "no staging folder or lock left behind by the failed runs", "17.6", Outcome(not left, deleted=len(left), detail=str(left)))


def run_swap_cases(b: Battery) -> None:
    G = "output folders and command errors"
    from foi_research import atomic

    # the exchange: at no moment is the dataset path missing
    d, ds, mine = _workspace(b, "swap")
    renames = []
    real_rename = os.rename

    def spy(a, c):
        renames.append((a, c))
        return real_rename(a, c)

    atomic.os.rename = spy
    try:
        _good_dataset(ds)
    finally:
        atomic.os.rename = real_rename
    b.add(G, "replacing a dataset: one atomic exchange (no moment without a dataset)", "17.6", Outcome(renames == [] and _read(ds)["reports"].height == 1, deleted=_deleted(mine, d)))

    # where no exchange exists: a kill between the two renames is recovered by the next run
    real_exchange = atomic._exchange
    atomic._exchange = lambda a, c: False
    calls = []

    def killed_after_first(a, c):
        calls.append(a)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_rename(a, c)

    atomic.os.rename = killed_after_first
    try:
        try:
            _good_dataset(ds)
        except KeyboardInterrupt:
            pass
    finally:
        atomic.os.rename = real_rename
        atomic._exchange = real_exchange
    ok = not ds.exists() and _read(ds)["reports"].height == 1
    b.add(G, "a kill between the two renames of the fallback swap", "17.6", Outcome(ok, lost=0 if ok else 1, deleted=_deleted(mine, d)))


# ---------------------------------------------------------------------------------------------
# Signals and workers


def run_signal_cases(b: Battery) -> None:
    G = "signals and dead workers"
    for sig, code, label in ((signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT (Ctrl-C)"), (signal.SIGKILL, -9, "kill -9")):
        d, ds, mine = _workspace(b, f"signal-{sig}")
        before = _snapshot(ds)
        mark = uuid.uuid4().hex
        p = subprocess.Popen(
            [sys.executable, "-m", "foi_research.cli", "parse", str(DATA), "--out", str(ds), "-q", "--backend", "processes", "--workers", "2"],
            env=_env(mark), stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while len(_marked(mark)) < 4 and time.monotonic() < deadline:  # the command, forkserver, workers
            time.sleep(0.1)
        time.sleep(0.3)
        p.send_signal(sig)
        try:
            rc = p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            b.add(G, f"{label} during a parse", "17.6", Outcome(False, hang=True))
            continue
        err = p.stderr.read()
        gone = _gone(mark)
        kept = _snapshot(ds) == before
        _good_dataset(ds)  # the next run cleans up what a killed one left
        left = [x.name for x in d.iterdir() if x.name.startswith(".")]
        ok = rc == code and gone and kept and not left and "Traceback" not in err
        b.add(G, f"{label} during a parse: previous dataset kept, workers, forkserver and resource tracker ended", "17.6",
              Outcome(ok, crash=rc != code, hang=not gone, deleted=_deleted(mine, d) + (0 if kept else 1), detail=f"rc {rc}, left {left}, {err[-200:]}"))

    # a worker killed from outside (the out-of-memory killer) in the middle of a parse
    d, ds, mine = _workspace(b, "oom")
    mark = uuid.uuid4().hex
    p = subprocess.Popen(
        [sys.executable, "-m", "foi_research.cli", "parse", str(DATA), "--out", str(ds), "-q", "--backend", "processes", "--workers", "2"],
        env=_env(mark), stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    import psutil

    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and p.poll() is None:
        for pid in _marked(mark):
            try:
                q = psutil.Process(pid)
                if pid != p.pid and "forkserver" in " ".join(psutil.Process(q.ppid()).cmdline()):
                    q.kill()  # a worker (its parent is the forkserver), as the out-of-memory killer would
                    killed = pid
                    break
            except psutil.Error:
                continue
        time.sleep(0.05)
    rc = p.wait(timeout=120)
    err = p.stderr.read()
    n_files = sum(1 for x in DATA.rglob("*") if x.is_file())
    ok = rc == 0 and killed is not None
    lost = 0
    if rc == 0:
        rep = _read(ds)["reports"]
        lost = n_files - rep["source_file"].n_unique()
        ok = ok and lost == 0 and "worker_died" not in _read(ds)["quality"]["check"].to_list()
    b.add(G, "a worker killed (SIGKILL) in the middle of a parse: every file still parsed", "17.4",
          Outcome(ok, crash=rc != 0, lost=lost, deleted=_deleted(mine, d), detail=f"rc {rc}, killed {killed}, {err[-200:]}"))

    # a task that kills its worker, and a task stuck in C code (executor level)
    sys.path.insert(0, str(ROOT / "tests"))
    import faults
    from foi_research.executor import run_tasks

    items = list(range(24))
    items[7] = ("kill", 7)
    got = list(run_tasks(faults.killed_at, items, backend="processes", workers=2, chunksize=4, on_lost=lambda i, c: ("lost", i, c)))
    ok = got[7] == ("lost", ("kill", 7), -signal.SIGKILL) and got[:7] + got[8:] == [i * 2 for i in range(24) if i != 7]
    b.add(G, "a file whose worker dies every time: only that file lost, with a row", "17.4", Outcome(ok, lost=0 if ok else 1))
    got = list(run_tasks(faults.stuck_in_c, [1, "stuck", 3], backend="processes", workers=2, chunksize=2, on_lost=lambda i, c: ("lost", i, c)))
    ok = got == [2, ("lost", "stuck", -signal.SIGXCPU), 6]
    b.add(G, "a file stuck in C code past its time limit: its worker ended, the others parsed", "17.5", Outcome(ok, hang=not ok))


def run_batch_signal(b: Battery) -> None:
    """SIGTERM on `batch` while a notebook's kernel runs: no kernel left."""
    G = "signals and dead workers"
    d = b.work / "batch"
    (d / "params").mkdir(parents=True)
    for k in ("a", "b"):
        (d / "params" / f"{k}.yaml").write_text("notebook: region_profile.ipynb\nparameters:\n  region: 淄博市\n", encoding="utf-8")
    mark = uuid.uuid4().hex
    p = subprocess.Popen(
        [sys.executable, "-m", "foi_research.cli", "batch", str(d / "params"), "--out", str(d / "studies"), "--dataset", "", "--workers", "2", "-q"],
        env=_env(mark), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    import psutil

    deadline = time.monotonic() + 90
    kernel = False
    while not kernel and time.monotonic() < deadline and p.poll() is None:
        for pid in _marked(mark):
            try:
                if "ipykernel" in " ".join(psutil.Process(pid).cmdline()):
                    kernel = True
            except psutil.Error:
                pass
        time.sleep(0.1)
    time.sleep(1.0)
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    gone = _gone(mark, 15)
    left = [x.name for x in (d / "studies").iterdir()] if (d / "studies").exists() else []
    ok = kernel and rc == 143 and gone and not [x for x in left if x.startswith(".")]
    b.add(G, "SIGTERM on batch while a notebook's kernel runs: kernels and workers ended", "17.6",
          Outcome(ok, crash=rc not in (143, None), hang=rc is None or not gone, detail=f"kernel seen {kernel}, rc {rc}, left {left}"))


# ---------------------------------------------------------------------------------------------
# Parameter files, exports


def run_params_cases(b: Battery) -> None:
    G = "parameter files and exports"
    from foi_research.present import studies

    d = b.work / "params"
    (d / "studies" / "other").mkdir(parents=True)
    (d / "studies" / "other" / "keep.txt").write_text("mine")
    mine = _snapshot(d)
    for name, text, what in (
        ("..yaml", "notebook: region_profile.ipynb\nparameters:\n  region: 淄博市\n", "a parameter file named ..yaml"),
        ("bomb.yaml", "notebook: region_profile.ipynb\nparameters:\n  a: &a [1,1,1,1,1,1,1,1,1]\n" + "".join(
            f"  {x}: &{x} [{','.join(['*' + y] * 9)}]\n" for x, y in zip("bcdefgh", "abcdefg")) + "  region: *h\n", "a 316-byte YAML alias bomb"),
        ("deep.yaml", "notebook: region_profile.ipynb\nparameters:\n  x: " + "[" * 3000 + "]" * 3000 + "\n", "YAML nested 3,000 deep"),
        ("big.yaml", "notebook: region_profile.ipynb\nparameters:\n  x: '" + "a" * (2 << 20) + "'\n", "a 2 MB parameter file"),
        ("notebook.yaml", "notebook: ../../../etc/passwd\nparameters: {}\n", "a notebook path outside notebooks/"),
    ):
        pf = d / name
        pf.write_text(text, encoding="utf-8")
        t0 = time.monotonic()
        r = studies.run_study(pf, d / "studies", dataset="")
        fast = time.monotonic() - t0 < 10
        b.add(G, what, "17.1/17.5", Outcome(not r.ok and fast and _deleted(mine, d) == 0, hang=not fast, deleted=_deleted(mine, d), detail=str(r.error)[:200]))

    # exports: every table with edge values, all-null columns, no rows
    import datetime as dt

    import polars as pl

    from foi_research.present import export
    from foi_research.reference import codes
    from foi_research.validate.schemas import TABLES, polars_schema

    failures = []
    for t in TABLES:
        sch = polars_schema(t)
        cols = {c.name: c for c in TABLES[t]["columns"]}
        vals = {}
        for k, typ in sch.items():
            c = cols[k]
            vals[k] = ([codes.V(c.vocab).codes[0], None] if c.vocab else ["=1+1", "长" * 40_000] if typ == pl.String
                       else [10**15, None] if typ == pl.Int64 else [1e300, None] if typ == pl.Float64 else [True, None] if typ == pl.Boolean
                       else [dt.date(1900, 1, 1), None] if typ == pl.Date else [None, None])
        for k2, df in enumerate((pl.DataFrame(vals, schema=sch), pl.DataFrame({k: [None, None] for k in sch}, schema=sch), pl.DataFrame(schema=sch))):
            try:
                export.write_stata({t: df}, d / "x" / f"{t}{k2}")
                export.write_csv({t: df}, d / "x" / f"{t}{k2}")
            except Exception as e:  # noqa: BLE001 - counted as a crash
                failures.append(f"{t}/{k2}: {type(e).__name__}: {e}")
    b.add(G, "CSV and Stata exports of every table: edge values, all-null columns, no rows", "17.4",
          Outcome(not failures, crash=bool(failures), detail="; ".join(failures)[:300]))
    text = open(d / "x" / "reports0" / "reports.csv", encoding="utf-8-sig", newline="").read()
    b.add(G, "a text cell starting with = in a CSV export", "17.3", Outcome("'=1+1" in text and "\n=1+1" not in text))


# ---------------------------------------------------------------------------------------------
# The battery and its table


def run(work: Path | None = None, quick: bool = False) -> Battery:
    """Run every case. quick: leave out the slowest (the batch signal case)."""
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="foi-reliability-")) if own else work
    b = Battery(work)
    try:
        run_inputs(b, "serial")
        run_inputs(b, "processes")
        run_output_cases(b)
        run_swap_cases(b)
        run_signal_cases(b)
        if not quick:
            run_batch_signal(b)
        run_params_cases(b)
    finally:
        if own:
            for p in work.rglob("*"):  # (a test folder may have been made unreadable)
                try:
                    if p.is_dir() and not p.is_symlink():
                        os.chmod(p, 0o755)
                except OSError:
                    pass
            shutil.rmtree(work, ignore_errors=True)
    return b


GROUPS = [
    "bytes and encodings", "formats and sizes", "structure", "numbers and text", "names and kinds",
    "output folders and command errors", "signals and dead workers", "parameter files and exports",
]


def table(b: Battery) -> str:
    """The README table: per group of inputs and faults, cases tried and their outcomes."""
    rows = ["| inputs and faults tried | cases | handled | crashes | hangs | lost reports | files deleted outside the dataset |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    tot = [0] * 6
    for g in GROUPS:
        cs = [c for c in b.cases if c.group == g]
        if not cs:
            continue
        n = [len(cs), sum(c.outcome.handled for c in cs), sum(c.outcome.crash for c in cs), sum(c.outcome.hang for c in cs),
             sum(c.outcome.lost for c in cs), sum(c.outcome.deleted for c in cs)]
        tot = [a + x for a, x in zip(tot, n)]
        what = "; ".join(sorted({c.name.split(" [")[0] for c in cs}))
        rows.append(f"| **{g}**: {what} | " + " | ".join(map(str, n)) + " |")
    rows.append("| **total** | " + " | ".join(map(str, tot)) + " |")
    return "\n".join(rows)


def write_readme(b: Battery) -> None:
    text = README.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{table(b)}\n{END}"
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        raise SystemExit(f"README.md has no {BEGIN} … {END} block")
    README.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    b = run()
    print(table(b))
    bad = [c for c in b.cases if not c.outcome.handled]
    for c in bad:
        print(f"NOT HANDLED: [{c.group}] {c.name}: {c.outcome.detail}", file=sys.stderr)
    if "--readme" in argv:
        if bad:
            print("README not written: some cases were not handled", file=sys.stderr)
            return 1
        write_readme(b)
        print(f"written to {README}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
