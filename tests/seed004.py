"""What a user holds in seed 004's tables: a generation 11 Sales-Essential user and a generation 9
Standard CRM user (module names, the owner SUPEROFFICE left out)."""

SEED_004_SALES_ESSENTIAL = {
    "server", "user", "web", "pocket-crm-cal", "visible-for", "import", "dash", "document", "selection",
    "relation", "relation-cal", "sale", "sale-cal", "sales-t1", "ten-sales",
}  # fmt: skip
SEED_004_STANDARD_CRM = {
    "server", "user", "web", "pocket-crm-cal", "visible-for", "import", "dash", "document", "selection",
    "selection-cal", "selection-combined-cal", "relation", "relation-cal", "project", "project-cal",
    "mail-merge-cal", "sales-t1", "superlicense-contact-manager",
}  # fmt: skip
