-- Issue #8: withdrawn papers, non-arXiv subject classes kept apart from categories,
-- and the Hugging Face organisation's display name beside its slug.
ALTER TABLE papers ADD COLUMN is_withdrawn INTEGER NOT NULL DEFAULT 0;
ALTER TABLE papers ADD COLUMN subject_classes TEXT NOT NULL DEFAULT '[]';  -- JSON list: MSC, ACM, ...
ALTER TABLE daily_entries ADD COLUMN organization_name TEXT;
