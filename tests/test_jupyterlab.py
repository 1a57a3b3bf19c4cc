"""`foi-research lab` starts JupyterLab on the project with its kernel: started headless here,
it serves the Lab page, runs code from a stored notebook through the Jupyter server API (REST +
kernel websocket) and gives the same result as the package, with interactive offline charts;
then the server is stopped by its PID."""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid

import nbformat
import pytest
import requests

from conftest import ROOT

websocket = pytest.importorskip("websocket")  # websocket-client, a dependency of jupyter_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _msg(code: str) -> dict:
    return {
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex, "date": "", "version": "5.3"},
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        "channel": "shell",
    }


def _execute(ws, code: str, timeout: float = 240) -> dict:
    """Send code to the kernel; collect stdout, rich outputs and the reply status."""
    msg = _msg(code)
    ws.send(json.dumps(msg))
    mid = msg["header"]["msg_id"]
    out = {"stdout": "", "data": [], "error": None, "status": None}
    deadline = time.monotonic() + timeout
    idle = False
    while time.monotonic() < deadline and not (idle and out["status"]):
        ws.settimeout(max(1.0, deadline - time.monotonic()))
        m = json.loads(ws.recv())
        if m.get("parent_header", {}).get("msg_id") != mid:
            continue
        t = m["msg_type"]
        if t == "stream" and m["content"]["name"] == "stdout":
            out["stdout"] += m["content"]["text"]
        elif t in ("execute_result", "display_data"):
            out["data"].append(m["content"]["data"])
        elif t == "error":
            out["error"] = f"{m['content']['ename']}: {m['content']['evalue']}"
        elif t == "execute_reply":
            out["status"] = m["content"]["status"]
        elif t == "status" and m["content"]["execution_state"] == "idle":
            idle = True
    assert out["status"], f"no reply from the kernel within {timeout} s"
    return out


def _notebook_code(name: str) -> str:
    """The parameters cell and the first code cell (setup and data) of a stored notebook."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    return "\n".join(code[:2])


@pytest.fixture()
def lab_server(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "FOI_CHARTS"}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    log = open(tmp_path / "lab.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "foi_research.cli", "lab", "--no-browser", "--port", str(port), "--token", token],
        cwd=tmp_path,  # the command opens the project wherever it is started
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{(tmp_path / 'lab.log').read_text(errors='replace')[-3000:]}")
            try:
                if requests.get(f"{base}/api/status", headers=headers, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail("jupyter lab did not answer within 90 s")
            time.sleep(0.5)
        yield {"base": base, "headers": headers, "token": token, "port": port, "proc": proc}
    finally:
        os.kill(proc.pid, signal.SIGTERM)  # `foi-research lab` execs jupyter: this PID is the server
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def test_lab_runs_a_stored_notebook_and_never_overwrites_it(lab_server):
    """A stored notebook opened through the lab server and run cell by cell (interactive, offline
    charts) is served read-only; the save JupyterLab's autosave would make is refused with a
    note, and the stored file is byte for byte what it was (nbval stays green). Work copies in
    work/ save normally."""
    base, headers = lab_server["base"], lab_server["headers"]
    stored = ROOT / "notebooks" / "region_profile.ipynb"
    before = stored.read_bytes()
    assert requests.get(f"{base}/lab", headers=headers, timeout=30).status_code == 200  # the Lab frontend is served
    tree = requests.get(f"{base}/api/contents/notebooks", headers=headers, timeout=30).json()
    listed = {c["name"]: c for c in tree["content"]}
    assert "region_profile.ipynb" in listed and listed["region_profile.ipynb"]["writable"] is False  # rooted at the project
    specs = requests.get(f"{base}/api/kernelspecs", headers=headers, timeout=30).json()
    assert specs["default"] == "python3"

    # open the stored notebook as JupyterLab does: its model, then a session (kernel) on its path
    model = requests.get(f"{base}/api/contents/notebooks/region_profile.ipynb", headers=headers, timeout=30).json()
    assert model["writable"] is False and model["type"] == "notebook"
    session = requests.post(
        f"{base}/api/sessions", headers=headers, json={"path": "notebooks/region_profile.ipynb", "type": "notebook", "name": "region_profile.ipynb", "kernel": {"name": "python3"}}, timeout=60
    ).json()
    kernel = session["kernel"]
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{lab_server['port']}/api/kernels/{kernel['id']}/channels?token={lab_server['token']}", timeout=60
    )
    cells = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
    chart = None
    try:
        for i, cell in enumerate(cells):  # Run All
            r = _execute(ws, cell["source"])
            assert r["status"] == "ok", f"cell {i}: {r['error']}"
            cell["outputs"] = [{"output_type": "display_data", "data": d, "metadata": {}} for d in r["data"]]
            if chart is None and "out.save(" in cell["source"]:
                chart = r
        check = _execute(
            ws,
            "import json, sys\n"
            "print(json.dumps({'prefix': sys.prefix, 'renderer': renderer, 'reports': panel.height,"
            " 'agencies': panel['agency_id'].n_unique(), 'region': region, 'years': years}))",
        )
        assert check["status"] == "ok", check["error"]
        got = json.loads(check["stdout"].strip().splitlines()[-1])
    finally:
        ws.close()
        requests.delete(f"{base}/api/sessions/{session['id']}", headers=headers, timeout=30)

    # the kernel is this environment's Python, with the charts interactive and offline
    assert os.path.realpath(got["prefix"]) == os.path.realpath(sys.prefix)
    assert got["renderer"] == "jupyter (offline)"
    assert any("application/vnd.jupyter.widget-view+json" in d for d in chart["data"])
    # the save autosave would make (the run's widget outputs) is refused, with the note
    put = requests.put(f"{base}/api/contents/notebooks/region_profile.ipynb", headers=headers, json={"type": "notebook", "format": "json", "content": model["content"]}, timeout=60)
    assert put.status_code == 403 and "work/region_profile.ipynb" in put.json()["message"]
    assert requests.patch(f"{base}/api/contents/notebooks/region_profile.ipynb", headers=headers, json={"path": "notebooks/x.ipynb"}, timeout=30).status_code == 403
    assert requests.delete(f"{base}/api/contents/notebooks/region_profile.ipynb", headers=headers, timeout=30).status_code == 403
    assert stored.read_bytes() == before, "the stored notebook was rewritten by the lab session"
    # the work copy made by `foi-research lab` is an ordinary notebook: it saves
    work = requests.get(f"{base}/api/contents/work/region_profile.ipynb", headers=headers, timeout=30).json()
    assert work["writable"] is True
    scratch = f"work/_test_{uuid.uuid4().hex[:8]}.ipynb"
    saved = requests.put(f"{base}/api/contents/{scratch}", headers=headers, json={"type": "notebook", "format": "json", "content": model["content"]}, timeout=60)
    assert saved.status_code in (200, 201), saved.text
    requests.delete(f"{base}/api/contents/{scratch}", headers=headers, timeout=30)
    # and the notebook's code computed what the package computes here
    from foi_research.present import analysis, studies

    data = studies.load_study_data("", "data/corpus")
    panel = analysis.select(data.panel, got["region"], got["years"])
    assert got["reports"] == panel.height > 0
    assert got["agencies"] == panel["agency_id"].n_unique()
