"""The loaded forms: every YAML file under bot/flows/forms/, read once and checked."""

from __future__ import annotations

from pathlib import Path

from bot.flows import hooks
from bot.flows.schema import Form, FormError, read_form

FORMS_DIR = Path(__file__).resolve().parent / "forms"


class FormRegistry:
    """Forms by id; `fields_from` may name a form from a file read earlier in name order."""

    def __init__(self) -> None:
        self._forms: dict[str, Form] = {}
        self._loaded = False

    def load(self, directory: Path = FORMS_DIR) -> None:
        """Read every form file of the directory; raise FormError on the first bad one."""
        hooks.load_plugins()
        # "_" files hold shared parts (a child) that other forms include, so they come first.
        for path in sorted(directory.glob("*.yaml"), key=lambda p: (not p.name.startswith("_"),
                                                                     p.name)):
            self.add(read_form(path, self._forms))
        self._loaded = True

    def add(self, form: Form) -> Form:
        """Add one form; its id must be new."""
        existing = self._forms.get(form.id)
        if existing is not None and existing.source != form.source:
            raise FormError(f"{form.source}: id: {form.id!r} is already defined in "
                            f"{existing.source}")
        self._forms[form.id] = form
        return form

    def remove(self, form_id: str) -> None:
        """Forget a form (tests add their own)."""
        self._forms.pop(form_id, None)

    def _ensure(self) -> None:
        if not self._loaded:
            self.load()

    def get(self, form_id: str) -> Form | None:
        """Return the form with this id, if any."""
        self._ensure()
        return self._forms.get(form_id)

    def all(self) -> list[Form]:
        """Return every form, by id."""
        self._ensure()
        return sorted(self._forms.values(), key=lambda f: f.id)

    def menu_forms(self) -> list[Form]:
        """Return the forms a resident may pick under "Apply"."""
        return [f for f in self.all() if f.menu]


_registry = FormRegistry()


def forms() -> FormRegistry:
    """Return the process's form registry (loaded on first use)."""
    return _registry


def check_file(path: Path) -> Form:
    """Check a new form file against the loaded ones without starting the app."""
    known = {f.id: f for f in forms().all()}
    form = read_form(path, known)
    existing = known.get(form.id)
    if existing is not None and Path(existing.source).resolve() != path.resolve():
        raise FormError(f"{path}: id: {form.id!r} is already defined in {existing.source}")
    return form
