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

# (city, state, country)
LOCATIONS = (
    ("San Francisco", "California", "United States"),
    ("Los Angeles", "California", "United States"),
    ("San Diego", "California", "United States"),
    ("New York", "New York", "United States"),
    ("Boston", "Massachusetts", "United States"),
    ("Austin", "Texas", "United States"),
    ("Dallas", "Texas", "United States"),
    ("Houston", "Texas", "United States"),
    ("Seattle", "Washington", "United States"),
    ("Chicago", "Illinois", "United States"),
    ("Denver", "Colorado", "United States"),
    ("Atlanta", "Georgia", "United States"),
    ("Miami", "Florida", "United States"),
    ("Raleigh", "North Carolina", "United States"),
    ("Salt Lake City", "Utah", "United States"),
    ("Toronto", "Ontario", "Canada"),
    ("Vancouver", "British Columbia", "Canada"),
    ("London", "England", "United Kingdom"),
    ("Manchester", "England", "United Kingdom"),
    ("Edinburgh", "Scotland", "United Kingdom"),
    ("Dublin", "Leinster", "Ireland"),
    ("Berlin", "Berlin", "Germany"),
    ("Munich", "Bavaria", "Germany"),
    ("Paris", "Ile-de-France", "France"),
    ("Amsterdam", "North Holland", "Netherlands"),
    ("Stockholm", "Stockholm County", "Sweden"),
    ("Madrid", "Community of Madrid", "Spain"),
    ("Bengaluru", "Karnataka", "India"),
    ("Mumbai", "Maharashtra", "India"),
    ("Singapore", "Singapore", "Singapore"),
    ("Sydney", "New South Wales", "Australia"),
    ("Tokyo", "Tokyo", "Japan"),
    ("Sao Paulo", "Sao Paulo", "Brazil"),
    ("Tel Aviv", "Tel Aviv District", "Israel"),
)
# Personal emails are never returned for these (Apollo withholds them in GDPR regions).
GDPR_COUNTRIES = frozenset(
    ("United Kingdom", "Ireland", "Germany", "France", "Netherlands", "Sweden", "Spain")
)

# (industry, keywords)
INDUSTRIES = (
    ("computer software", ("saas", "b2b", "cloud", "developer tools")),
    ("information technology & services", ("it services", "consulting", "cloud", "security")),
    ("internet", ("marketplace", "e-commerce", "consumer", "platform")),
    ("financial services", ("fintech", "payments", "banking", "lending")),
    ("hospital & health care", ("healthcare", "digital health", "telehealth", "clinics")),
    ("marketing & advertising", ("martech", "advertising", "content", "seo")),
    ("computer & network security", ("cybersecurity", "identity", "zero trust", "security")),
    ("staffing & recruiting", ("recruiting", "hr tech", "talent", "staffing")),
    ("logistics & supply chain", ("logistics", "freight", "supply chain", "shipping")),
    ("retail", ("retail", "e-commerce", "consumer goods", "omnichannel")),
    ("education management", ("edtech", "online learning", "education", "training")),
    ("real estate", ("proptech", "real estate", "property management", "leasing")),
    ("biotechnology", ("biotech", "life sciences", "research", "drug discovery")),
    ("renewables & environment", ("cleantech", "solar", "energy", "sustainability")),
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

# department key -> (display name, individual-contributor role, c-suite title)
DEPARTMENTS = {
    "engineering_technical": ("Engineering", "Software Engineer", "Chief Technology Officer"),
    "sales": ("Sales", "Account Executive", "Chief Revenue Officer"),
    "marketing": ("Marketing", "Marketing Specialist", "Chief Marketing Officer"),
    "finance": ("Finance", "Financial Analyst", "Chief Financial Officer"),
    "human_resources": ("People", "HR Generalist", "Chief People Officer"),
    "operations": ("Operations", "Operations Analyst", "Chief Operating Officer"),
    "product_management": ("Product", "Product Manager", "Chief Product Officer"),
    "information_technology": ("IT", "Systems Administrator", "Chief Information Officer"),
    "support": ("Customer Success", "Customer Success Manager", "Chief Customer Officer"),
    "legal": ("Legal", "Corporate Counsel", "General Counsel"),
}

# Apollo's seniority values with rough shares of a B2B database.
SENIORITIES = (
    ("entry", 24),
    ("senior", 24),
    ("manager", 18),
    ("director", 10),
    ("vp", 6),
    ("head", 5),
    ("c_suite", 4),
    ("founder", 3),
    ("intern", 2),
    ("owner", 2),
    ("partner", 2),
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


def title_for(seniority: str, department: str) -> str:
    """A realistic job title for a seniority in a department."""
    name, role, chief = DEPARTMENTS[department]
    return {
        "owner": "Owner",
        "founder": "Co-Founder" if department != "engineering_technical" else "Founder & CTO",
        "c_suite": chief,
        "partner": "Partner",
        "vp": f"VP of {name}",
        "head": f"Head of {name}",
        "director": f"Director of {name}",
        "manager": f"{name} Manager",
        "senior": f"Senior {role}",
        "intern": f"{name} Intern",
    }.get(seniority, role)
