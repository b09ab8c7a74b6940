"""`lazy_exports`: a package's names imported from their home module on first use, once."""

from __future__ import annotations

import pytest

import tradexp.config
from tradexp.lazy_exports import lazy_exports


def test_every_public_name_of_the_lazy_packages_resolves_and_is_listed():
    for name in ("config", "tracking", "reporting", "organisation", "evaluation", "hpo", "lifecycle"):
        package = __import__(f"tradexp.{name}", fromlist=["__all__"])
        missing = [n for n in package.__all__ if n not in dir(package)]
        assert not missing, f"tradexp.{name}: {missing} not listed by dir()"
    from tradexp.config import diff_configs
    from tradexp.config.history import diff_configs as home

    assert diff_configs is home and "diff_configs" in vars(tradexp.config)  # stored: __getattr__ runs once


def test_an_unknown_name_raises_attribute_error_and_two_homes_are_refused():
    with pytest.raises(AttributeError, match="module 'tradexp.config' has no attribute 'no_such_name'"):
        tradexp.config.no_such_name  # noqa: B018
    with pytest.raises(ValueError, match="`f` is exported from both `a` and `b`"):
        lazy_exports("pkg", {"a": ("f",), "b": ("f",)})
