"""Word lists the generated prospect database is drawn from.

Plain tuples so generation is a handful of `rng.choice` calls per record.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily "
    "Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Amy "
    "Jacob Kathleen Gary Angela Nicholas Shirley Eric Brenda Jonathan Emma Stephen Anna "
    "Larry Pamela Justin Nicole Scott Samantha Brandon Katherine Benjamin Christine Samuel "
    "Helen Gregory Rachel Alexander Carolyn Patrick Janet Frank Maria Raymond Olivia Jack "
    "Heather Dennis Diane Priya Wei Mei Hiroshi Yuki Aarav Ananya Lukas Sofia Mateo Lea "
    "Noah Chloe Liam Amelie Omar Fatima Diego Lucia Arjun Ingrid Sven Aisha Kwame Zara"
)

LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed "
    "Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
    "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Huston "
    "Mueller Schmidt Schneider Fischer Weber Dubois Moreau Laurent Rossi Russo Tanaka Sato "
    "Suzuki Chen Wang Zhang Liu Singh Sharma Gupta Okafor Mensah Andersson Johansson Novak"
)

COMPANY_ADJECTIVES = _words(
    "Blue Bright Clear Swift Silver Golden North Open Prime Quantum Red Solid True Vivid "
    "Bold Brave Crisp Deep Evergreen First Grand Green High Iron Keen Lucid Modern Nimble "
    "Noble Polar Pure Rapid Sharp Smart Summit Terra Urban Vital Wild Zen"
)

COMPANY_NOUNS = _words(
    "Arc Bay Beacon Bridge Canyon Cloud Crest Data Delta Edge Field Flow Forge Frame Grid "
    "Harbor Hive Horizon Leaf Ledger Lens Line Link Loop Mesa Metric Mill Nest Node Oak "
    "Orbit Path Peak Pixel Pine Pulse Quarry Rail Ridge River Rock Root Sail Scale Signal "
    "Spark Sphere Spring Stack Stone Stream Tide Trail Vault Vector Wave Well Works Yard"
)

COMPANY_SUFFIXES = (
    "",
    "",
    "",
    " Labs",
    " Inc",
    " Systems",
    " Software",
    " Group",
    " AI",
    " Health",
    " Analytics",
    " Technologies",
    " Partners",
    " Capital",
)
TLDS = ("com", "com", "com", "io", "co", "ai", "net")

# (industry, keywords, revenue per employee in thousands (low, high), technology uids
# companies in it favour besides the common ones)
INDUSTRIES: tuple[tuple[str, tuple[str, ...], tuple[int, int], tuple[str, ...]], ...] = (
    (
        "computer software",
        ("saas", "b2b", "cloud", "developer tools"),
        (150, 350),
        ("github", "amazon_aws", "datadog", "segment", "react", "atlassian_jira"),
    ),
    (
        "information technology & services",
        ("it services", "consulting", "cloud", "security"),
        (90, 200),
        ("microsoft_azure", "microsoft_office_365", "atlassian_jira", "okta"),
    ),
    (
        "internet",
        ("marketplace", "e-commerce", "consumer", "platform"),
        (200, 500),
        ("google_cloud", "react", "cloudflare", "stripe", "segment"),
    ),
    (
        "financial services",
        ("fintech", "payments", "banking", "lending"),
        (200, 450),
        ("salesforce", "snowflake", "okta", "tableau", "docusign"),
    ),
    (
        "hospital & health care",
        ("healthcare", "digital health", "telehealth", "clinics"),
        (80, 160),
        ("microsoft_office_365", "workday", "zoom", "docusign"),
    ),
    (
        "marketing & advertising",
        ("martech", "advertising", "content", "seo"),
        (90, 200),
        (
            "hubspot",
            "google_analytics",
            "mailchimp",
            "wordpress_org",
            "linkedin_marketing_solutions",
        ),
    ),
    (
        "computer & network security",
        ("cybersecurity", "identity", "zero trust", "security"),
        (180, 380),
        ("okta", "amazon_aws", "datadog", "github", "salesforce"),
    ),
    (
        "staffing & recruiting",
        ("recruiting", "hr tech", "talent", "staffing"),
        (60, 140),
        ("greenhouse_io", "workday", "linkedin_marketing_solutions", "salesforce"),
    ),
    (
        "logistics & supply chain",
        ("logistics", "freight", "supply chain", "shipping"),
        (120, 300),
        ("microsoft_azure", "tableau", "salesforce", "microsoft_office_365"),
    ),
    (
        "retail",
        ("retail", "e-commerce", "consumer goods", "omnichannel"),
        (100, 250),
        ("shopify", "stripe", "google_analytics", "mailchimp", "zendesk"),
    ),
    (
        "education management",
        ("edtech", "online learning", "education", "training"),
        (60, 150),
        ("zoom", "google_cloud", "wordpress_org", "intercom"),
    ),
    (
        "real estate",
        ("proptech", "real estate", "property management", "leasing"),
        (150, 400),
        ("salesforce", "docusign", "hubspot", "microsoft_office_365"),
    ),
    (
        "biotechnology",
        ("biotech", "life sciences", "research", "drug discovery"),
        (150, 400),
        ("amazon_aws", "snowflake", "tableau", "workday"),
    ),
    (
        "renewables & environment",
        ("cleantech", "solar", "energy", "sustainability"),
        (180, 420),
        ("salesforce", "microsoft_azure", "tableau"),
    ),
    (
        "management consulting",
        ("strategy", "consulting", "transformation", "advisory"),
        (150, 320),
        ("microsoft_office_365", "salesforce", "tableau", "docusign"),
    ),
    (
        "venture capital & private equity",
        ("venture capital", "private equity", "investing", "startups"),
        (500, 1500),
        ("docusign", "gmail", "slack"),
    ),
)
# Used by most companies whatever their industry.
COMMON_TECHNOLOGIES = (
    "gmail",
    "google_analytics",
    "slack",
    "zoom",
    "microsoft_office_365",
    "cloudflare",
    "wordpress_org",
    "hubspot",
    "salesforce",
    "outreach",
    "gong",
    "zendesk",
    "intercom",
    "marketo",
)

# (uid, display name, category)
TECHNOLOGIES = (
    ("salesforce", "Salesforce", "CRM"),
    ("hubspot", "HubSpot", "Marketing Automation"),
    ("google_analytics", "Google Analytics", "Analytics"),
    ("segment", "Segment", "Analytics"),
    ("amazon_aws", "Amazon AWS", "Cloud Services"),
    ("google_cloud", "Google Cloud", "Cloud"),
    ("microsoft_azure", "Microsoft Azure", "Cloud Services"),
    ("slack", "Slack", "Chat"),
    ("zendesk", "Zendesk", "Support and Feedback"),
    ("intercom", "Intercom", "Chat"),
    ("stripe", "Stripe", "Payments"),
    ("shopify", "Shopify", "Ecommerce Platforms"),
    ("wordpress_org", "WordPress.org", "CMS"),
    ("react", "React", "Javascript Libraries"),
    ("cloudflare", "Cloudflare", "CDN"),
    ("datadog", "Datadog", "Monitoring"),
    ("snowflake", "Snowflake", "Data Warehouse"),
    ("okta", "Okta", "Identity"),
    ("marketo", "Marketo", "Marketing Automation"),
    ("outreach", "Outreach", "Sales Engagement"),
    ("gong", "Gong", "Conversation Intelligence"),
    ("zoom", "Zoom", "Video Conferencing"),
    ("atlassian_jira", "Atlassian Jira", "Project Management"),
    ("github", "GitHub", "Dev Tools"),
    ("mailchimp", "Mailchimp", "Email Marketing"),
    ("gmail", "Gmail", "Email Providers"),
    ("microsoft_office_365", "Microsoft Office 365", "Email Providers"),
    ("docusign", "DocuSign", "E-Signature"),
    ("tableau", "Tableau", "Business Intelligence"),
    ("workday", "Workday", "HR"),
    ("greenhouse_io", "Greenhouse.io", "Recruitment"),
    ("linkedin_marketing_solutions", "Linkedin Marketing Solutions", "Advertising"),
)

EMAIL_STATUSES = (
    ("verified", 70),
    ("unverified", 14),
    ("likely to engage", 6),
    ("unavailable", 10),
)

FUNDING_STAGES = (
    "Seed",
    "Series A",
    "Series B",
    "Series C",
    "Series D",
    "Venture (Round not Specified)",
)
