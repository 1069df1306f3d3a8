"""The loader refuses broken catalog files, naming the entry and field at fault."""

from __future__ import annotations

import pytest

from bollard.catalog import catalog_text, load_catalog, parse_catalog
from bollard.errors import CatalogError


def broken(old: str, new: str) -> str:
    """The shipped TOML with the first `old` replaced; `old` must really be there."""
    text = catalog_text()
    assert old in text, f"test fixture out of date: {old!r} not in apollo.toml"
    return text.replace(old, new, 1)


def refusal(text: str) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        parse_catalog(text)
    return info.value


def test_the_shipped_catalog_loads_the_seeds_twenty_and_the_documents_sixty() -> None:
    actions = load_catalog().actions
    assert len(actions) == 80
    assert [a.origin for a in actions] == ["seed"] * 20 + ["openapi"] * 60


def test_an_unknown_risk_tag_is_refused_naming_the_tags() -> None:
    error = refusal(broken('tags = ["sends_email", "bulk"]', 'tags = ["sends_mail", "bulk"]'))
    assert (error.entry, error.field) == ("sequences.add_contacts", "tags")
    assert "sends_email" in str(error)


def test_a_spending_action_without_the_spends_credits_tag_is_refused() -> None:
    error = refusal(broken('tags = ["spends_credits", "bulk"]', 'tags = ["bulk"]'))
    assert (error.entry, error.field) == ("people.bulk_enrich", "tags")


def test_a_duplicate_id_is_refused_naming_the_id() -> None:
    error = refusal(broken('id = "people.enrich"', 'id = "people.search"'))
    assert (error.entry, error.field) == ("people.search", "id")


def test_a_path_template_with_a_bad_segment_is_refused() -> None:
    error = refusal(broken('path = "/contacts/{contact_id}"', 'path = "/contacts/{contact-id}"'))
    assert (error.entry, error.field) == ("contacts.update", "path")


def test_a_path_with_a_double_slash_is_refused() -> None:
    error = refusal(broken('path = "/tasks/search"', 'path = "/tasks//search"'))
    assert (error.entry, error.field) == ("tasks.search", "path")


def test_a_path_parameter_that_is_not_declared_is_refused() -> None:
    error = refusal(broken('path = "/accounts/{account_id}"', 'path = "/accounts/{id}"'))
    assert (error.entry, error.field) == ("accounts.update", "params")


def test_a_parameter_without_a_type_is_refused_naming_the_parameter() -> None:
    error = refusal(broken('name = "q_name"\ntype = "string"\n', 'name = "q_name"\n'))
    assert (error.entry, error.field) == ("sequences.search", "params.q_name.type")


def test_an_array_without_an_item_type_is_refused() -> None:
    error = refusal(
        broken(
            'name = "contact_ids"\ntype = "array"\nitems = "string"\n',
            'name = "contact_ids"\ntype = "array"\n',
        )
    )
    assert (error.entry, error.field) == ("sequences.add_contacts", "params.contact_ids.items")


def test_a_nested_property_without_a_type_is_refused_naming_the_path() -> None:
    error = refusal(
        broken(
            'name = "hashed_email"\ntype = "string"\ndescription = "The email hashed',
            'name = "hashed_email"\ndescription = "The email hashed',
        )
    )
    assert error.entry == "people.bulk_enrich"
    assert error.field == "params.details.properties.hashed_email.type"


def test_a_missing_action_of_the_document_is_refused() -> None:
    text = catalog_text()
    last = text.rindex("[[actions]]")
    error = refusal(text[:last])
    assert (error.entry, error.field) == ("<file>", "actions")
    assert "expected exactly 60 from openapi, found 59" in str(error)


def test_a_seed_action_passed_off_as_the_documents_is_refused() -> None:
    marked = 'id = "people.enrich"\norigin = "openapi"\n'
    error = refusal(broken('id = "people.enrich"\n', marked))
    assert "expected exactly 20 from seed, found 19" in str(error)


def test_a_rule_naming_an_unknown_parameter_is_refused() -> None:
    error = refusal(
        broken('fields = ["contact_ids", "label_names"]', 'fields = ["contact_ids", "labels"]')
    )
    assert (error.entry, error.field) == ("sequences.add_contacts", "rules")


def test_a_requires_rule_without_when_is_refused() -> None:
    error = refusal(
        broken('kind = "requires"\nwhen = "reveal_phone_number"\n', 'kind = "requires"\n')
    )
    assert (error.entry, error.field) == ("people.enrich", "rules")


def test_a_todo_placeholder_is_refused() -> None:
    error = refusal(broken('summary = "Enrich up to 10 people in one call."', 'summary = "TODO"'))
    assert (error.entry, error.field) == ("people.bulk_enrich", "summary")


def test_an_unknown_paging_key_is_refused() -> None:
    error = refusal(broken("records_max = 50000 }", "records_max = 50000, pages = 3 }"))
    assert (error.entry, error.field) == ("people.search", "paging")


def test_a_paid_credit_kind_without_a_base_is_refused() -> None:
    error = refusal(
        broken('credits = { kind = "per_page", base = 1,', 'credits = { kind = "per_page",')
    )
    assert (error.entry, error.field) == ("organizations.search", "credits")


def test_a_source_that_is_not_an_apollo_reference_page_is_refused() -> None:
    old = 'source = "https://docs.apollo.io/reference/list-all-deals"'
    error = refusal(broken(old, 'source = "https://docs.apollo.io/reference/"'))
    assert (error.entry, error.field) == ("deals.list", "source")


def test_an_id_whose_prefix_is_not_its_resource_is_refused() -> None:
    error = refusal(broken('id = "users.list"', 'id = "people.list"'))
    assert (error.entry, error.field) == ("people.list", "resource")


def test_a_guide_missing_a_resource_area_is_refused() -> None:
    error = refusal(
        broken('resource = "usage"\ntitle = "Usage"', 'resource = "usages"\ntitle = "Usage"')
    )
    assert (error.entry, error.field) == ("guide", "areas")


def test_a_toml_syntax_error_is_refused_as_a_file_problem() -> None:
    error = refusal(broken('[guide]\ntitle = "', "[guide]\ntitle = "))
    assert (error.entry, error.field) == ("<file>", "<syntax>")


def test_a_disagreement_whose_claims_agree_is_refused() -> None:
    error = refusal(broken('value = "standard"', 'value = "one tenth"'))
    assert (error.entry, error.field) == ("people.bulk_enrich", "disagreements.rate_limit")
    assert "differing values" in str(error)


def test_a_disputed_cost_the_catalog_holds_at_no_claims_value_is_refused() -> None:
    text = broken(
        'value = 0\nsource = "https://docs.apollo.io/reference/people-enrichment"',
        'value = 2\nsource = "https://docs.apollo.io/reference/people-enrichment"',
    )
    error = refusal(text)
    assert (error.entry, error.field) == ("people.enrich", "disagreements.credits.email_reveal")
    assert "no claim's value" in str(error)


def test_a_claim_without_a_source_address_is_refused() -> None:
    error = refusal(
        broken('source = "https://docs.apollo.io/reference/rate-limits"', 'source = "the old docs"')
    )
    assert error.field == "disagreements.rate_limit.claims.source"
