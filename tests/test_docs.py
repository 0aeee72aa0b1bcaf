"""The ODD's parameter table is generated from the schema and must stay in step with it."""

import re
from pathlib import Path

from experiments.cli import params_markdown
from model import PARAMS

ODD = Path(__file__).parents[1] / "docs" / "ODD.md"


def test_odd_parameter_table_matches_the_schema():
    block = re.search(r"<!-- params:begin -->\n(.*?)\n<!-- params:end -->", ODD.read_text(), re.S)
    assert block, "docs/ODD.md lacks the params markers"
    assert block.group(1).strip() == params_markdown().strip(), (
        "regenerate with: wasim params --markdown")


def test_every_parameter_is_named_in_the_odd_text_outside_the_table():
    text = re.sub(r"<!-- params:begin -->.*?<!-- params:end -->", "", ODD.read_text(), flags=re.S)
    missing = [name for name in PARAMS if f"`{name}`" not in text]
    assert not missing, f"parameters without a rule in docs/ODD.md: {missing}"
