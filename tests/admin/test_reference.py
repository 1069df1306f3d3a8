"""/reference and /reference/catalog.json over real HTTP, and the console's own headers."""

from __future__ import annotations

import json
import re
import stat

import httpx
from click.testing import CliRunner

from bollard.cli import main
from tests.harness import ADMIN_TOKEN, Bollard, StartBollard

ROW = re.compile(r'<details class="endpoint-row" id="([a-z_.]+)"')


def test_reference_page_is_public_and_lists_every_endpoint_by_area(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        page = client.get("/reference")
    assert page.status_code == 200
    assert len(ROW.findall(page.text)) == 80
    for heading in ("Key kinds", "Credits", "Rate limits", "Pagination", "Versioning", "Webhooks"):
        assert heading in page.text
    assert "Status codes and what to do" in page.text
    assert 'href="/reference/catalog.json"' in page.text


def test_reference_filters_by_method_access_permission_and_path(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        seed = {"from": "seed"}
        master_reads = client.get(
            "/reference", params={"permission": "master", "access": "read", **seed}
        )
        patches = client.get("/reference", params={"method": "PATCH", **seed})
        searched = client.get("/reference", params={"q": "emailer_campaigns", **seed})
        nothing = client.get("/reference", params={"q": "no-such-path"})
    assert ROW.findall(master_reads.text) == [
        "sequences.search",
        "tasks.search",
        "deals.list",
        "users.list",
        "usage.stats",
    ]
    assert ROW.findall(patches.text) == ["contacts.update", "accounts.update", "deals.update"]
    assert ROW.findall(searched.text) == ["sequences.search", "sequences.add_contacts"]
    assert "No endpoint matches these filters." in nothing.text


def test_catalog_json_is_the_same_data_as_bollard_catalog(admin: Bollard) -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["catalog", "--json", "--method", "POST", "--search", "contacts"])
    shown = runner.invoke(main, ["catalog", "show", "people.enrich", "--json"])
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        filtered = client.get("/reference/catalog.json", params={"method": "POST", "q": "contacts"})
        whole = client.get("/reference/catalog.json").json()
    assert filtered.json()["actions"] == json.loads(listed.output)
    enrich = next(a for a in whole["actions"] if a["id"] == "people.enrich")
    assert enrich == json.loads(shown.output)
    assert len(whole["actions"]) == 80
    assert [s["id"] for s in whole["guide"]["sections"]][:1] == ["connect"]


def test_reference_marks_each_rows_origin_and_filters_by_risk_tag(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        sends = client.get("/reference", params={"tag": "sends_email"})
        document = client.get("/reference", params={"from": "openapi"})
        as_json = client.get("/reference/catalog.json", params={"tag": "destructive"})
    assert ROW.findall(sends.text) == [
        "sequences.add_contacts",
        "sequences.create",
        "sequences.update",
        "sequences.activate",
        "emails.send_now",
    ]
    assert "5 of 80 endpoints" in sends.text
    row = sends.text.split('id="sequences.add_contacts"')[1].split("</summary>")[0]
    assert '<span class="origin seed"' in row
    assert ">sends_email</span>" in row
    row = sends.text.split('id="emails.send_now"')[1].split("</summary>")[0]
    assert "Apollo&#39;s document</span>" in row
    assert len(ROW.findall(document.text)) == 60
    assert {a["id"] for a in as_json.json()["actions"]} == {
        "sequences.remove_contacts",
        "sequences.deactivate",
        "sequences.archive",
        "lists.remove_records",
    }


def test_reference_can_be_put_behind_sign_in(start_bollard: StartBollard) -> None:
    bollard = start_bollard(admin_token=ADMIN_TOKEN, reference_public=False)
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=bollard.url, timeout=10) as client:
        page = client.get("/reference")
        data = client.get("/reference/catalog.json")
        allowed = client.get("/reference/catalog.json", headers=bearer)
    assert page.status_code == 303
    assert page.headers["location"] == "/admin/login?next=/reference"
    assert data.status_code == 401
    assert allowed.status_code == 200


def test_console_and_reference_refuse_to_be_framed(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        answers = [client.get(p) for p in ("/admin/login", "/admin/api/agents", "/reference")]
    for answer in answers:
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert answers[0].headers["cache-control"] == "no-store"


def test_a_generated_admin_token_is_kept_private_in_the_state_dir(
    start_bollard: StartBollard,
) -> None:
    bollard = start_bollard()
    path = bollard.settings.state_dir / "admin.token"
    token = path.read_text("utf-8").strip()
    with httpx.Client(base_url=bollard.url, timeout=10) as client:
        answer = client.get("/admin/api/agents", headers={"Authorization": f"Bearer {token}"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token.startswith("bat_")
    assert answer.status_code == 200


def test_reference_parameter_types_read_as_words(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        page = client.get("/reference", params={"q": "people.search"}).text
    assert "built-in method" not in page
    assert "<td>array of string</td>" in page
    assert "<td>integer</td>" in page


def test_reference_search_finds_tool_names_and_words_in_descriptions(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        tool = client.get("/reference", params={"q": "apollo_mixed_companies_search"})
        phone = client.get("/reference", params={"q": "phone"})
    assert ROW.findall(tool.text) == ["organizations.search"]
    assert "people.enrich" in ROW.findall(phone.text)
    assert "contacts.create" in ROW.findall(phone.text)
    assert "deals.list" not in ROW.findall(phone.text)


def test_the_reference_page_shows_both_sides_of_each_disagreement_with_sources(
    admin: Bollard,
) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        page = client.get("/reference").text
        whole = client.get("/reference/catalog.json").json()
    section = page.split('<section id="disagreements"')[1].split("</section>")[0]
    for d in whole["disagreements"]:
        article = section.split(f'id="disagreement-{d["action"]}-{d["field"]}"')[1]
        article = article.split("</article>")[0]
        assert d["topic"] in article.replace("&#39;", "'")
        for claim in d["claims"]:
            assert f"<strong>{claim['value']}</strong>" in article
            assert claim["source"].replace("'", "&#39;") in article
    assert len(whole["disagreements"]) == 5
    enrich = page.split('id="people.enrich"')[1].split("</details>")[0]
    assert "Budgets reckon</dt><dd>1 per record, +1 email reveal, +8 phone reveal" in enrich
    assert "Sources disagree: Credits for revealed personal emails" in enrich
    assert "https://docs.apollo.io/reference/people-enrichment" in enrich
