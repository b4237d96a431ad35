"""Run the runnable examples in every public module's docstrings."""

import doctest
import importlib
import pkgutil

import pytest

import omnibandit.engine
import omnibandit.experiments
import omnibandit.policies
import omnibandit.simulators


def _modules():
    for package in (omnibandit.engine, omnibandit.policies, omnibandit.simulators, omnibandit.experiments):
        yield package.__name__
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            yield info.name


@pytest.mark.parametrize("name", sorted(set(_modules())))
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
