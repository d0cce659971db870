-- Old-style ids are canonical without their subject class (issue #8, docs/sources.md):
-- math.GT/0309136 is math/0309136. Rows stored under the old form move to the
-- canonical id when nothing else holds or claims it (a row that would collide stays
-- as it is), with a new change_seq so that search indexes follow.
CREATE TEMP TABLE canonical_ids ON COMMIT DROP AS
    SELECT id, arxiv_id AS old_id, regexp_replace(arxiv_id, '^([a-z-]+)\.[A-Z]{2}/', '\1/') AS new_id
    FROM papers
    WHERE arxiv_id ~ '^[a-z][a-z-]*\.[A-Z]{2}/[0-9]{7}$';
DELETE FROM canonical_ids
    WHERE new_id IN (SELECT arxiv_id FROM papers)
       OR new_id IN (SELECT arxiv_id FROM daily_entries)
       OR new_id IN (SELECT arxiv_id FROM paper_sources)
       OR new_id IN (SELECT new_id FROM canonical_ids GROUP BY new_id HAVING COUNT(*) > 1);
UPDATE daily_entries d SET arxiv_id = c.new_id FROM canonical_ids c WHERE d.arxiv_id = c.old_id;
UPDATE paper_sources s SET arxiv_id = c.new_id FROM canonical_ids c WHERE s.arxiv_id = c.old_id;
UPDATE papers p SET arxiv_id = c.new_id, change_seq = nextval('papers_change_seq')
    FROM canonical_ids c WHERE p.id = c.id;
