"""The mutation check's list (``tools/mutate.py``) follows the code, so that the check can run:
each mutation's line is once in its file and the tests it names exist."""

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
_spec = importlib.util.spec_from_file_location("mutate", ROOT / "tools" / "mutate.py")
mutate = sys.modules["mutate"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up
_spec.loader.exec_module(mutate)


@pytest.mark.parametrize("mutation", mutate.MUTATIONS, ids=lambda m: m.name)
def test_each_mutation_changes_one_line_of_its_file(mutation, tmp_path):
    copy = tmp_path / mutation.path
    copy.parent.mkdir(parents=True)
    shutil.copy(ROOT / mutation.path, copy)
    original = copy.read_text()
    with mutate.mutated(tmp_path, mutation):  # raises StaleMutation unless the line is there once
        changed = copy.read_text()
    assert changed != original and copy.read_text() == original
    assert len(changed.splitlines()) == len(original.splitlines())


@pytest.mark.parametrize("mutation", mutate.MUTATIONS, ids=lambda m: m.name)
def test_each_mutation_names_tests_that_exist(mutation):
    assert mutation.tests
    for node in mutation.tests:
        path, _, test = node.partition("::")
        source = (ROOT / path).read_text()
        if test:
            assert re.search(rf"^def {re.escape(test.split('[')[0])}\(", source, re.MULTILINE), node


def test_a_line_the_code_moved_on_from_is_refused(tmp_path):
    stale = mutate.Mutation("stale", "a line that is not there", "model/blocks.py", "x = 1", "x = 2",
                            ("tests",))
    (tmp_path / "model").mkdir()
    shutil.copy(ROOT / "model/blocks.py", tmp_path / "model/blocks.py")
    with pytest.raises(mutate.StaleMutation, match="occurs 0 times"), mutate.mutated(tmp_path, stale):
        pass
