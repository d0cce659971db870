-- /settings/invites lists a member's invites, newest first (docs/community.md).
CREATE INDEX invites_created_by ON invites (created_by, created_at);
