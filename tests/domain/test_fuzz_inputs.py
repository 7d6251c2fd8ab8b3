"""Fuzzing the parsers of user input: whatever text or JSON comes in, the answer is either a
value or a named Rejection, never a crash and never a float."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.invoice import PaymentTerms
from openbill.domain.money import to_decimal
from openbill.domain.pricing import PriceModel, spec_from_params, spec_to_params
from openbill.domain.rejections import Rejection

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
param_keys = st.sampled_from(
    ["unit_price", "tiers", "block_size", "percent", "minimum", "up_to", "flat_fee", "x"]
)


@given(st.text(max_size=40))
def test_to_decimal_returns_a_decimal_or_refuses(text: str) -> None:
    try:
        value = to_decimal(text)
    except Rejection as refusal:
        assert refusal.field == "amount"
        assert refusal.reason
    else:
        assert isinstance(value, Decimal)
        assert value.is_finite()


@given(st.floats())
def test_to_decimal_refuses_every_float(value: float) -> None:
    try:
        to_decimal(value)
    except Rejection as refusal:
        assert "float" in refusal.reason or "number" in refusal.reason
    else:
        raise AssertionError(f"accepted the float {value!r}")


@given(st.text(max_size=20))
def test_payment_terms_parse_or_refuse(text: str) -> None:
    try:
        terms = PaymentTerms.parse(text)
    except Rejection as refusal:
        assert refusal.field == "payment_terms"
    else:
        # What parses prints back to a canonical form that parses to the same terms.
        assert PaymentTerms.parse(str(terms)) == terms


@given(
    st.sampled_from([m.value for m in PriceModel] + ["", "tiered", "FLAT"]),
    st.dictionaries(param_keys, json_values, max_size=5),
)
def test_price_params_parse_or_refuse(model: str, params: dict[str, object]) -> None:
    try:
        spec = spec_from_params(model, params)
    except Rejection as refusal:
        assert refusal.reason
    else:
        assert spec_from_params(spec.model.value, spec_to_params(spec)) == spec
