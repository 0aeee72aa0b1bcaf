import inspect

import pytest

from model import PARAMS, ParameterError
from model.market import WhatsAppMarket
from model.params import resolve


def test_every_parameter_is_a_keyword_with_its_default():
    signature = inspect.signature(WhatsAppMarket)
    for name, param in PARAMS.items():
        assert signature.parameters[name].default == param.default


def test_every_parameter_documents_unit_meaning_and_source():
    for p in PARAMS.values():
        assert p.unit and p.meaning and p.source, p.name
        if p.kind in (int, float):
            assert p.low is not None and p.high is not None, p.name
            assert p.low <= p.default <= p.high, p.name


def test_unknown_parameter_is_named_with_a_suggestion():
    with pytest.raises(ParameterError, match="ad_lod: unknown parameter.*ad_load"):
        resolve({"ad_lod": 0.1})


@pytest.mark.parametrize(("name", "value", "allowed"), [
    ("ad_load", 0.9, r"a float in \[0, 0.5\]"),
    ("ad_load", "high", r"a float in \[0, 0.5\]"),
    ("n_users", 2.5, r"an? int in \[100, 5e\+07\]"),
    ("data_sharing", "sometimes", "one of 'off', 'opt_out', 'mandatory'"),
    ("shopping_section", 1, "true or false"),
])
def test_out_of_range_values_name_field_and_allowed_values(name, value, allowed):
    with pytest.raises(ParameterError, match=f"{name}: got .*allowed: {allowed}"):
        resolve({name: value})


def test_model_rejects_unknown_keyword():
    with pytest.raises(ParameterError, match="colour"):
        WhatsAppMarket(rng=1, colour="green")


def test_integers_given_as_whole_floats_are_accepted():
    assert resolve({"n_users": 5000.0})["n_users"] == 5000
