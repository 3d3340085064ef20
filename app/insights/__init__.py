"""Insights for the privacy and client-relations team: what customers ask that the notices do
not answer, and the answers agents correct.

- db.py           read-only SQL over the feedback store's database (SQLite or PostgreSQL)
- queries.py      the report's aggregates, each one SQL statement
- topics.py       the questions that need attention, embedded and grouped by topic
- report.py       the report as frozen records, computed for a period and a policy
- export.py       the report as CSV, JSON, a summary table and a PNG plot
- corrections.py  agents' corrections, stored, and written out as eval-set lines
- cli.py          `privacy-assistant insights`
"""
