"""What tests/conftest.py shares between the apps of one test process changes no result."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Rule


def sample(converter) -> object:
    return 7 if isinstance(converter, IntegerConverter) else "a b/ü"


def test_shared_url_builders_build_what_werkzeug_would(app):
    shared = Rule._compile_builder
    assert getattr(shared, "shared", False), "conftest did not install the shared builders"
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 100
    for rule in rules:
        values = {name: sample(rule._converters.get(name)) for name in rule.arguments}
        for append_unknown in (False, True):
            own = shared.original(rule, append_unknown).__get__(rule, None)
            mine = shared(rule, append_unknown).__get__(rule, None)
            extra = {"q": "x y", "n": 3} if append_unknown else {}
            assert mine(**values, **extra) == own(**values, **extra), rule.rule


def page(app, path: str) -> str:
    """The page with its per-request CSRF token left out; the app's own template cache
    emptied first, so its templates are loaded again."""
    app.jinja_env.cache.clear()
    response = app.test_client().get(path)
    assert response.status_code == 200
    return "\n".join(line for line in response.get_data(as_text=True).splitlines()
                     if "csrf" not in line)


def test_a_page_renders_the_same_from_the_shared_bytecode_cache(app):
    cache = app.jinja_env.bytecode_cache
    assert type(cache).__name__ == "SharedBytecodeCache"
    page(app, "/staff/login")
    assert cache.compiled  # the page's templates are in the shared cache
    from_cache = page(app, "/staff/login")
    app.jinja_env.bytecode_cache = None
    assert page(app, "/staff/login") == from_cache  # compiled from the source again
