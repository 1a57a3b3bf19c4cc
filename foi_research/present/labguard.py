"""The contents manager `foi-research lab` runs JupyterLab with: the stored notebooks are read-only.

The stored notebooks (notebooks/*.ipynb) are executed with static charts and compared cell by cell
by the test suite (nbval). JupyterLab autosaves every two minutes: after a Run All in a lab
session, the stored copy would be rewritten with interactive widget outputs the user never chose
to save, and nbval would fail. So, through the server `foi-research lab` starts:

- a stored notebook is served with `writable: false`, which JupyterLab shows as read-only and
  never autosaves (its autosave skips a document it cannot save);
- saving, renaming or deleting it is refused (HTTP 403) with a note saying where to work: the
  copy in work/ that `foi-research lab` makes of every stored notebook, or File > Save As;
- everything else (work/, your own notebooks, outputs/) is saved as usual.

To update the stored notebooks after changing a notebook, the parser or the panel:
`python -m foi_research.present.studies refresh` (outside JupyterLab).
"""
from __future__ import annotations

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web
from traitlets import Unicode

WORK_DIR = "work"
STORED_DIR = "notebooks"


def note(path: str) -> str:
    name = path.strip("/").rsplit("/", 1)[-1]
    return (
        f"{path} is a stored notebook: the test suite compares it with a fresh run, so foi-research lab keeps it read-only. "
        f"Work in your copy {WORK_DIR}/{name} (foi-research lab made it), or use File > Save Notebook As… to save under another name. "
        "To update the stored notebooks: python -m foi_research.present.studies refresh"
    )


class StoredNotebooksReadOnly(AsyncLargeFileManager):
    """AsyncLargeFileManager (jupyter_server's default) with notebooks/*.ipynb read-only."""

    stored_dir = Unicode(STORED_DIR, config=True, help="Folder (relative to the root) of the stored notebooks")

    def is_stored(self, path: str) -> bool:
        p = (path or "").strip("/")
        head, _, name = p.rpartition("/")
        return head == self.stored_dir and name.endswith(".ipynb")

    async def get(self, path, content=True, type=None, format=None, **kw):
        model = await super().get(path, content=content, type=type, format=format, **kw)
        if self.is_stored(path):
            model["writable"] = False
        elif model.get("type") == "directory" and isinstance(model.get("content"), list):
            for child in model["content"]:
                if self.is_stored(child.get("path", "")):
                    child["writable"] = False
        return model

    async def save(self, model, path=""):
        if self.is_stored(path):
            raise web.HTTPError(403, note(path))
        return await super().save(model, path)

    async def delete_file(self, path):
        if self.is_stored(path):
            raise web.HTTPError(403, note(path))
        return await super().delete_file(path)

    async def rename_file(self, old_path, new_path):
        if self.is_stored(old_path) or self.is_stored(new_path):
            raise web.HTTPError(403, note(old_path if self.is_stored(old_path) else new_path))
        return await super().rename_file(old_path, new_path)
