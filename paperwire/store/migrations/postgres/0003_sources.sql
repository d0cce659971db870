-- Issue #8: withdrawn papers, non-arXiv subject classes kept apart from categories,
-- and the Hugging Face organisation's display name beside its slug.
ALTER TABLE papers ADD COLUMN is_withdrawn boolean NOT NULL DEFAULT false;
ALTER TABLE papers ADD COLUMN subject_classes text NOT NULL DEFAULT '[]';  -- JSON list: MSC, ACM, ...
ALTER TABLE daily_entries ADD COLUMN organization_name text;
