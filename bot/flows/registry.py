"""The loaded forms: every YAML file of every loaded feature's forms folder, read once, checked."""

from __future__ import annotations

from pathlib import Path

from bot.flows.schema import Form, FormError, read_form


class FormRegistry:
    """Forms by id; `fields_from` may name a form from a file read earlier in name order."""

    def __init__(self, directories: list[Path] | None = None) -> None:
        self._forms: dict[str, Form] = {}
        self._loaded = False
        self.directories = directories or []

    def load(self) -> None:
        """Read every form file of the folders; raise FormError on the first bad one."""
        # "_" files hold shared parts (a child) that other forms include, so they come first.
        paths = [p for d in self.directories for p in d.glob("*.yaml")]
        for path in sorted(paths, key=lambda p: (not p.name.startswith("_"), p.name)):
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


def forms() -> FormRegistry:
    """Return the form registry of the loaded features (read on first use)."""
    from cityhall.features import current

    features = current()
    found = features.cache.get("forms")
    if found is None:
        found = features.cache.setdefault("forms", FormRegistry(features.form_folders()))
    return found


def check_file(path: Path) -> Form:
    """Check a new form file against the loaded ones without starting the app."""
    known = {f.id: f for f in forms().all()}
    form = read_form(path, known)
    existing = known.get(form.id)
    if existing is not None and Path(existing.source).resolve() != path.resolve():
        raise FormError(f"{path}: id: {form.id!r} is already defined in {existing.source}")
    return form
