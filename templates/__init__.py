"""The Jinja templates of the pages and the mails, shipped as package data and read through
importlib.resources, so an installed wheel (or a zip) finds them wherever it is put."""

from collections.abc import Callable
from importlib.resources import files
from importlib.resources.abc import Traversable

from jinja2 import BaseLoader, Environment, TemplateNotFound

ROOT: Traversable = files(__name__)


class ResourceLoader(BaseLoader):
    """Loads templates below `root`: this package, or one of its folders (ROOT / "pages")."""

    def __init__(self, root: Traversable = ROOT) -> None:
        self.root = root

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        resource = self.root
        for part in template.split("/"):
            if part in ("", ".", ".."):  # names come from code, but never climb out
                raise TemplateNotFound(template)
            resource = resource / part
        if not resource.is_file():
            raise TemplateNotFound(template)
        # Package data does not change while the process runs: never reload.
        return resource.read_text(encoding="utf-8"), None, lambda: True

    def list_templates(self) -> list[str]:
        found: list[str] = []

        def walk(folder: Traversable, prefix: str) -> None:
            for entry in folder.iterdir():
                if entry.name == "__pycache__":
                    continue
                if entry.is_dir():
                    walk(entry, f"{prefix}{entry.name}/")
                elif not entry.name.endswith(".py"):
                    found.append(prefix + entry.name)

        walk(self.root, "")
        return sorted(found)
