"""The sandbox's behaviour for the actions that come from Apollo's OpenAPI document.

One handler per action id, bound to the sandbox's state; `app.handlers` merges
these with the seed's 20, and the app refuses to start if any catalog action
has none.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from bollard.sandbox import activity, bulk, lists, lookups, outreach
from bollard.sandbox.exchange import Invocation, Reply

if TYPE_CHECKING:
    from collections.abc import Callable

    from bollard.sandbox import Sandbox

    Handler = Callable[[Invocation], Reply]


def handlers(sb: Sandbox) -> dict[str, Handler]:
    """Each document action's behaviour, bound to this sandbox."""
    team, ws, orgs = sb.team, sb.workspace, sb.organizations
    find_person, find_org = sb.person_for_email, sb.organization_id_for_domain
    return {
        "people.get": partial(lookups.get_person, sb.enricher),
        "people.webhook_result": partial(lookups.webhook_result, sb.webhooks),
        "organizations.bulk_enrich": partial(lookups.bulk_enrich_organizations, orgs),
        "organizations.job_postings": partial(lookups.job_postings, orgs),
        "organizations.get": partial(lookups.get_organization, orgs),
        "accounts.bulk_create": partial(bulk.bulk_create_accounts, team, find_org),
        "accounts.bulk_update": partial(bulk.bulk_update_accounts, team, find_org),
        "accounts.update_owners": partial(bulk.update_account_owners, team),
        "accounts.list_stages": partial(lookups.list_account_stages, team),
        "accounts.get": partial(lookups.get_account, team),
        "contacts.get": partial(lookups.get_contact, team),
        "contacts.deals": partial(lookups.contact_deals, team),
        "contacts.update_stages": partial(bulk.update_contact_stages, team),
        "contacts.update_owners": partial(bulk.update_contact_owners, team),
        "contacts.bulk_create": partial(bulk.bulk_create_contacts, team, find_person),
        "contacts.bulk_update": partial(bulk.bulk_update_contacts, team, find_person),
        "contacts.list_stages": partial(lookups.list_contact_stages, team),
        "deals.get": partial(lookups.get_deal, team),
        "deals.list_stages": partial(lookups.list_deal_stages, team),
        "sequences.list_schedules": partial(outreach.list_schedules, ws),
        "sequences.remove_contacts": partial(outreach.remove_contacts, team),
        "sequences.create": partial(outreach.create_sequence, team),
        "sequences.update": partial(outreach.update_sequence, team),
        "sequences.activity": partial(outreach.activity, team),
        "sequences.activate": partial(outreach.activate, team),
        "sequences.deactivate": partial(outreach.deactivate, team),
        "sequences.archive": partial(outreach.archive, team),
        "tasks.bulk_create": partial(bulk.bulk_create_tasks, team),
        "tasks.get": partial(bulk.get_task, team),
        "tasks.update": partial(bulk.update_task, team),
        "tasks.complete": partial(bulk.complete_task, team),
        "tasks.skip": partial(bulk.skip_task, team),
        "emails.create_draft": partial(outreach.create_draft, ws),
        "emails.send_now": partial(outreach.send_now, ws),
        "emails.get_content": partial(outreach.get_content, ws),
        "emails.send_status": partial(outreach.send_status, ws),
        "emails.stats": partial(outreach.stats, ws),
        "emails.search": partial(outreach.search_emails, ws),
        "users.profile": partial(lookups.profile, team, sb.credits),
        "email_accounts.list": partial(outreach.list_email_accounts, ws),
        "lists.list": partial(lists.list_lists, team),
        "lists.create": partial(lists.create_list, team),
        "lists.update": partial(lists.update_list, team),
        "lists.add_records": partial(lists.add_records, team),
        "lists.remove_records": partial(lists.remove_records, team),
        "fields.list": partial(lists.list_fields, ws),
        "fields.create": partial(lists.create_field, ws),
        "fields.update": partial(lists.update_fields, ws),
        "fields.list_custom": partial(lists.list_custom_fields, ws),
        "calls.search": partial(activity.search_calls, ws),
        "calls.create": partial(activity.create_call, ws),
        "calls.update": partial(activity.update_call, ws),
        "usage.credits": partial(lookups.credit_usage, sb.credits),
        "news.search": partial(lookups.news, orgs),
        "notes.list": partial(activity.list_notes, ws),
        "reports.sync": partial(activity.sync_report, ws),
        "conversations.search": partial(activity.search_conversations, ws),
        "conversations.get": partial(activity.get_conversation, ws),
        "conversations.export": partial(activity.export_conversations, ws),
        "conversations.get_export": partial(activity.get_export, ws),
    }
